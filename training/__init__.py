"""Model core of the two-tower training pipeline (SPEC R-40..R-45).

    training.model      TwoTower / Tower / TowerExport (PyTorch)
    training.train      train(train_pairs, valid_pairs, talents, projects, TrainConfig) -> TrainResult
    training.split      split_by_time / split_by_project / split_pairs (no leakage)
    training.metrics    auc, ranking_metrics (Recall@10, MRR per project), evaluate
    training.export     export_model -> ONNX + safetensors per tower + metadata, verified
    training.synthetic  make_synthetic: labelled pairs for tests and benchmarks
    training.benchmark  python -m training.benchmark

Serving (no torch) lives in ses_udf.learned_tower, which also owns the token id scheme.
"""

"""The two-tower training pipeline and learning loop (SPEC R-40..R-45).

    training.model           TwoTower / Tower (training) and CompactTower / TwoTowerExport
    training.train           train(train_pairs, valid_pairs, talents, projects, TrainConfig)
    training.split           split_by_time / split_by_project / split_pairs (no leakage)
    training.metrics         auc, ranking_metrics (Recall@10, MRR per project), evaluate
    training.dataset         exposures + labels, the train / early-stop / held-out split,
                             held-out evaluation of any embedder (learned, hash, active)
    training.export          build_artifacts / export_model -> one ONNX + one safetensors
                             file (compact, both towers) + metadata, verified vs PyTorch
    training.retrain         python -m training.retrain: labels -> train -> gate -> deploy
                             to ses.model_registry (+ retrain_if_due, RetrainHook)
    training.learning_curve  python -m training.learning_curve: learned vs hash by labels
    training.simulated       simulated labelled exposures without a database
    training.synthetic       make_synthetic: labelled pairs for tests and benchmarks
    training.benchmark       python -m training.benchmark

Serving (no torch) lives in ses_udf.learned_tower / ses_udf.model_store, which also own
the token id scheme and the model format.
"""

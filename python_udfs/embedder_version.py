"""ses.embedder_version: the version an embedder serves now (recorded with every score):
hash -> v2, onnx / candle -> the active model's version (hot-reloaded, R-44)."""

from ses_udf.embedders import create_embedder


def embedder_version(embedder, dimension):
    return create_embedder(embedder, dimension, plpy).version

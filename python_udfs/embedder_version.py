"""ses.embedder_version: the version an embedder serves now (recorded with every score)."""

from ses_udf.embedders import create_embedder


def embedder_version(embedder, dimension):
    return create_embedder(embedder, dimension).version

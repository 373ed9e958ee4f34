"""ses.model_serving_problem(version) -> text: why a registry model could not be
served (NULL: it can). ses.activate_model calls it before switching (R-42)."""

from ses_udf.model_check import serving_problem


def model_serving_problem(version):
    return serving_problem(plpy, version)

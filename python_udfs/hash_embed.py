"""ses.hash_embed(tokens text[], weights float8[], dimension integer) -> bytea.

HashTwoTower "hash"/"v2" embedding of one entity's weighted tokens as float32
little-endian bytes; the work is in ses_udf.hash_tower, shared with pytest.
"""

from ses_udf.hash_tower import sql_hash_embed


def hash_embed(tokens, weights, dimension):
    return sql_hash_embed(tokens, weights, dimension)

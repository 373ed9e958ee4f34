-- R-20: the talent side of the v2 tokenizer, one row per (talent, token occurrence).
{{ two_tower_tokens(ref('stg_ses__talents'), 'talent') }}

-- R-20: the project side of the v2 tokenizer, one row per (project, token occurrence).
{{ two_tower_tokens(ref('stg_ses__projects'), 'project') }}

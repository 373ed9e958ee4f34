-- The talent embedding cache ses.talent_embeddings (seed 10.3, R-24); the table
-- itself is created by the V001 migration, this model only adds vectors.
{{ config(
    materialized='incremental',
    alias='talent_embeddings',
    unique_key=['talent_id', 'embedder', 'version'],
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='fail'
) }}
{{ embedding_cache_model('talent') }}

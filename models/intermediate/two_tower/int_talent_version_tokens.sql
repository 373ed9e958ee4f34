-- R-20 over every profile version (point in time): the talent tokens as they were
-- from valid_from on; training joins an exposure to the version it was shown with.
{{ two_tower_tokens(ref('stg_ses__talent_versions'), 'talent', version_column='valid_from') }}

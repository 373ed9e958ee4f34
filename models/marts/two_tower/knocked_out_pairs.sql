-- Pairs the hard rules knock out, with the reasons: "why is X not shown for Y".
select
    project_id,
    talent_id,
    ko_reasons
from {{ ref('int_candidate_pairs') }}
where cardinality(ko_reasons) > 0

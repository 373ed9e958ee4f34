-- R-32: every (project, talent) pair with its hard knock-out reasons (empty =
-- passes) and its business score; the rules are macros/business_rules.sql.
{{ candidate_pairs(
    rule_ready_talents(ref('stg_ses__talents')),
    rule_ready_projects(ref('stg_ses__projects'))
) }}

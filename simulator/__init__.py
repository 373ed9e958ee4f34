"""Closed-loop simulator: a synthetic SES market and its hidden ground truth.

- `world`: talents / projects as R-01 row dicts, daily arrivals, COPY output;
- `chemistry`: the latent pair quality the business rules do not express;
- `staff`: how simulated sales staff and clients react to a displayed candidate;
- `copyfmt`: PostgreSQL COPY text format (arrays, NULLs, escaping);
- `catalog`: the static market data (prefectures, stations, skills, role families).

(`simulator.chemistry` is the module; its one-pair helper is
`simulator.chemistry.chemistry(talent, project, seed)`.)

Nothing in the product may read chemistry; the loop uses it only to decide what the
simulated people do and to score rankings offline.  See docs/simulator.md.
"""

from simulator.chemistry import (
    COMPONENTS,
    HARD_CHEMISTRY,
    Chemistry,
    ChemistryParams,
    ProjectFeatures,
    TalentFeatures,
    encode_projects,
    encode_talents,
)
from simulator.copyfmt import (
    array_literal,
    copy_field,
    copy_line,
    copy_statement,
    copy_text,
    parse_array_literal,
    parse_copy_line,
    write_copy,
)
from simulator.staff import (
    DEFAULT_STAFF,
    HARD_STAFF,
    Reaction,
    SimEvent,
    StaffParams,
    action_probabilities,
    sample_reaction,
)
from simulator.world import (
    JST,
    PROJECT_COLUMNS,
    TALENT_COLUMNS,
    DailyArrivals,
    World,
    WorldConfig,
    arrivals_for_day,
    generate_projects,
    generate_talents,
    generate_world,
    is_business_day,
    iter_arrivals,
    price_knockout_share,
    write_world_copy,
)

__all__ = [
    "COMPONENTS",
    "DEFAULT_STAFF",
    "HARD_CHEMISTRY",
    "HARD_STAFF",
    "JST",
    "PROJECT_COLUMNS",
    "TALENT_COLUMNS",
    "Chemistry",
    "ChemistryParams",
    "DailyArrivals",
    "ProjectFeatures",
    "Reaction",
    "SimEvent",
    "StaffParams",
    "TalentFeatures",
    "World",
    "WorldConfig",
    "action_probabilities",
    "array_literal",
    "arrivals_for_day",
    "copy_field",
    "copy_line",
    "copy_statement",
    "copy_text",
    "encode_projects",
    "encode_talents",
    "generate_projects",
    "generate_talents",
    "generate_world",
    "is_business_day",
    "iter_arrivals",
    "parse_array_literal",
    "parse_copy_line",
    "price_knockout_share",
    "sample_reaction",
    "write_copy",
    "write_world_copy",
]

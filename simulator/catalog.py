"""Static catalogue of the simulated Japanese SES market.

Everything here is plain data (no randomness): prefectures and their weights,
areas/stations per prefecture, the skill vocabulary, the role archetypes that
give skills their realistic co-occurrence, and the ordinal scales of the
categorical fields.  `world.py` samples from it, `chemistry.py` reads the
same tables to derive the hidden ground truth, so both stay consistent.

Weights are rough shares of the IT-engineer job market (SES job boards are
dominated by Tokyo; then the other metropolitan areas), not official statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Categorical values (exactly the strings written into ses.talents / ses.projects)

REMOTE_TYPES: tuple[str, ...] = ("full_remote", "hybrid", "onsite")
CONTRACT_TYPES: tuple[str, ...] = ("準委任", "請負", "派遣")
JAPANESE_LEVELS: tuple[str, ...] = ("none", "conversational", "business", "native")  # ordinal
ENGLISH_LEVELS: tuple[str, ...] = ("none", "reading", "conversational", "business", "native")

PRICE_MIN = 400_000  # yen / month, inclusive bounds of every generated price
PRICE_MAX = 1_200_000

# ---------------------------------------------------------------------------
# Geography.  (prefecture, talent weight, project weight, region, [(area, station), ...])
# Talents live in the commuter belts (神奈川/埼玉/千葉) more than projects are located
# there; projects concentrate in central Tokyo.  Area/station pairs are real: the
# station lies in (or at the border of) the area.  The first entries of each list
# are the busiest business districts and get the largest weight.

PREFECTURES: tuple[tuple[str, float, float, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "東京都",
        0.390,
        0.560,
        "首都圏",
        (
            ("港区", "品川駅"),
            ("千代田区", "東京駅"),
            ("渋谷区", "渋谷駅"),
            ("新宿区", "新宿駅"),
            ("中央区", "日本橋駅"),
            ("港区", "田町駅"),
            ("品川区", "大崎駅"),
            ("千代田区", "秋葉原駅"),
            ("港区", "六本木駅"),
            ("江東区", "豊洲駅"),
            ("豊島区", "池袋駅"),
            ("品川区", "五反田駅"),
            ("中央区", "八丁堀駅"),
            ("渋谷区", "恵比寿駅"),
            ("目黒区", "中目黒駅"),
            ("台東区", "上野駅"),
            ("墨田区", "錦糸町駅"),
            ("文京区", "後楽園駅"),
            ("大田区", "蒲田駅"),
            ("中野区", "中野駅"),
            ("世田谷区", "三軒茶屋駅"),
            ("杉並区", "荻窪駅"),
            ("練馬区", "練馬駅"),
            ("北区", "赤羽駅"),
            ("武蔵野市", "吉祥寺駅"),
            ("立川市", "立川駅"),
            ("八王子市", "八王子駅"),
            ("町田市", "町田駅"),
            ("府中市", "府中駅"),
            ("三鷹市", "三鷹駅"),
        ),
    ),
    (
        "神奈川県",
        0.120,
        0.075,
        "首都圏",
        (
            ("横浜市西区", "横浜駅"),
            ("横浜市港北区", "新横浜駅"),
            ("川崎市川崎区", "川崎駅"),
            ("横浜市西区", "みなとみらい駅"),
            ("川崎市中原区", "武蔵小杉駅"),
            ("横浜市中区", "関内駅"),
            ("川崎市幸区", "新川崎駅"),
            ("横浜市都筑区", "センター北駅"),
            ("横浜市青葉区", "たまプラーザ駅"),
            ("相模原市中央区", "相模原駅"),
            ("藤沢市", "藤沢駅"),
            ("厚木市", "本厚木駅"),
            ("大和市", "大和駅"),
            ("横須賀市", "横須賀中央駅"),
        ),
    ),
    (
        "大阪府",
        0.085,
        0.095,
        "関西",
        (
            ("大阪市北区", "梅田駅"),
            ("大阪市北区", "大阪駅"),
            ("大阪市中央区", "本町駅"),
            ("大阪市淀川区", "新大阪駅"),
            ("大阪市中央区", "淀屋橋駅"),
            ("大阪市西区", "肥後橋駅"),
            ("大阪市中央区", "心斎橋駅"),
            ("大阪市中央区", "なんば駅"),
            ("大阪市天王寺区", "天王寺駅"),
            ("吹田市", "江坂駅"),
            ("豊中市", "千里中央駅"),
            ("堺市堺区", "堺東駅"),
            ("東大阪市", "布施駅"),
            ("高槻市", "高槻駅"),
        ),
    ),
    (
        "愛知県",
        0.055,
        0.055,
        "中部",
        (
            ("名古屋市中村区", "名古屋駅"),
            ("名古屋市中区", "栄駅"),
            ("名古屋市中区", "伏見駅"),
            ("名古屋市中区", "丸の内駅"),
            ("名古屋市熱田区", "金山駅"),
            ("名古屋市千種区", "千種駅"),
            ("名古屋市東区", "高岳駅"),
            ("豊田市", "豊田市駅"),
            ("刈谷市", "刈谷駅"),
            ("岡崎市", "東岡崎駅"),
            ("一宮市", "尾張一宮駅"),
        ),
    ),
    (
        "福岡県",
        0.040,
        0.040,
        "九州",
        (
            ("福岡市博多区", "博多駅"),
            ("福岡市中央区", "天神駅"),
            ("福岡市中央区", "赤坂駅"),
            ("福岡市博多区", "祇園駅"),
            ("福岡市早良区", "西新駅"),
            ("福岡市東区", "千早駅"),
            ("北九州市小倉北区", "小倉駅"),
            ("久留米市", "久留米駅"),
        ),
    ),
    (
        "埼玉県",
        0.075,
        0.025,
        "首都圏",
        (
            ("さいたま市大宮区", "大宮駅"),
            ("さいたま市浦和区", "浦和駅"),
            ("さいたま市中央区", "さいたま新都心駅"),
            ("川口市", "川口駅"),
            ("川越市", "川越駅"),
            ("所沢市", "所沢駅"),
            ("越谷市", "南越谷駅"),
            ("草加市", "草加駅"),
            ("和光市", "和光市駅"),
        ),
    ),
    (
        "千葉県",
        0.065,
        0.025,
        "首都圏",
        (
            ("千葉市美浜区", "海浜幕張駅"),
            ("千葉市中央区", "千葉駅"),
            ("船橋市", "船橋駅"),
            ("市川市", "本八幡駅"),
            ("習志野市", "津田沼駅"),
            ("松戸市", "松戸駅"),
            ("柏市", "柏駅"),
            ("浦安市", "新浦安駅"),
        ),
    ),
    (
        "兵庫県",
        0.030,
        0.018,
        "関西",
        (
            ("神戸市中央区", "三宮駅"),
            ("神戸市中央区", "神戸駅"),
            ("神戸市中央区", "元町駅"),
            ("尼崎市", "尼崎駅"),
            ("西宮市", "西宮北口駅"),
            ("神戸市東灘区", "住吉駅"),
            ("姫路市", "姫路駅"),
            ("明石市", "明石駅"),
        ),
    ),
    (
        "京都府",
        0.018,
        0.014,
        "関西",
        (
            ("京都市下京区", "京都駅"),
            ("京都市中京区", "烏丸御池駅"),
            ("京都市下京区", "四条駅"),
            ("京都市中京区", "二条駅"),
            ("京都市左京区", "出町柳駅"),
            ("宇治市", "宇治駅"),
            ("長岡京市", "長岡京駅"),
        ),
    ),
    (
        "北海道",
        0.018,
        0.014,
        "北海道・東北",
        (
            ("札幌市北区", "札幌駅"),
            ("札幌市中央区", "大通駅"),
            ("札幌市中央区", "すすきの駅"),
            ("札幌市厚別区", "新札幌駅"),
            ("札幌市白石区", "白石駅"),
            ("旭川市", "旭川駅"),
            ("函館市", "函館駅"),
        ),
    ),
    (
        "宮城県",
        0.011,
        0.010,
        "北海道・東北",
        (
            ("仙台市青葉区", "仙台駅"),
            ("仙台市青葉区", "勾当台公園駅"),
            ("仙台市宮城野区", "榴ケ岡駅"),
            ("仙台市泉区", "泉中央駅"),
            ("仙台市太白区", "長町駅"),
            ("名取市", "名取駅"),
        ),
    ),
    (
        "広島県",
        0.010,
        0.009,
        "中国・四国",
        (
            ("広島市南区", "広島駅"),
            ("広島市中区", "八丁堀駅"),
            ("広島市中区", "紙屋町西駅"),
            ("広島市安佐南区", "大町駅"),
            ("東広島市", "西条駅"),
            ("福山市", "福山駅"),
        ),
    ),
    (
        "静岡県",
        0.010,
        0.007,
        "中部",
        (
            ("静岡市葵区", "静岡駅"),
            ("浜松市中央区", "浜松駅"),
            ("沼津市", "沼津駅"),
            ("三島市", "三島駅"),
        ),
    ),
    (
        "茨城県",
        0.009,
        0.006,
        "首都圏",
        (
            ("つくば市", "つくば駅"),
            ("水戸市", "水戸駅"),
            ("日立市", "日立駅"),
            ("守谷市", "守谷駅"),
        ),
    ),
    (
        "新潟県",
        0.006,
        0.005,
        "中部",
        (("新潟市中央区", "新潟駅"), ("長岡市", "長岡駅")),
    ),
    (
        "長野県",
        0.005,
        0.003,
        "中部",
        (("長野市", "長野駅"), ("松本市", "松本駅")),
    ),
    (
        "石川県",
        0.005,
        0.004,
        "中部",
        (("金沢市", "金沢駅"),),
    ),
    (
        "栃木県",
        0.005,
        0.003,
        "首都圏",
        (("宇都宮市", "宇都宮駅"), ("小山市", "小山駅")),
    ),
    (
        "群馬県",
        0.005,
        0.003,
        "首都圏",
        (("高崎市", "高崎駅"), ("前橋市", "前橋駅")),
    ),
    (
        "岡山県",
        0.005,
        0.004,
        "中国・四国",
        (("岡山市北区", "岡山駅"), ("倉敷市", "倉敷駅")),
    ),
    (
        "滋賀県",
        0.004,
        0.002,
        "関西",
        (("草津市", "南草津駅"), ("大津市", "大津駅")),
    ),
    (
        "奈良県",
        0.005,
        0.001,
        "関西",
        (("奈良市", "新大宮駅"), ("奈良市", "奈良駅"), ("生駒市", "生駒駅")),
    ),
    (
        "熊本県",
        0.004,
        0.003,
        "九州",
        (("熊本市西区", "熊本駅"), ("熊本市中央区", "水前寺駅")),
    ),
    (
        "鹿児島県",
        0.003,
        0.002,
        "九州",
        (("鹿児島市", "鹿児島中央駅"),),
    ),
    (
        "沖縄県",
        0.005,
        0.004,
        "九州",
        (("那覇市", "県庁前駅"), ("那覇市", "おもろまち駅"), ("浦添市", "浦添前田駅")),
    ),
    (
        "愛媛県",
        0.003,
        0.002,
        "中国・四国",
        (("松山市", "松山駅"),),
    ),
    (
        "香川県",
        0.003,
        0.002,
        "中国・四国",
        (("高松市", "高松駅"),),
    ),
)

PREFECTURE_NAMES: tuple[str, ...] = tuple(p[0] for p in PREFECTURES)
PREFECTURE_REGION: dict[str, str] = {p[0]: p[3] for p in PREFECTURES}
REGIONS: tuple[str, ...] = tuple(dict.fromkeys(p[3] for p in PREFECTURES))

# ---------------------------------------------------------------------------
# Skills.  Spelled as SES job boards spell them (mixed case, Japanese for
# process skills).  The tokenizer lower-cases, so spelling only matters for display.

SKILL_GROUPS: dict[str, tuple[str, ...]] = {
    "language": (
        "Java", "Python", "JavaScript", "TypeScript", "Go", "C#", "PHP", "Ruby", "Kotlin",
        "Swift", "C", "C++", "COBOL", "Scala", "Rust", "Dart", "Objective-C", "VB.NET", "R",
        "Shell Script", "PowerShell", "ABAP", "Apex", "PL/I", "HTML", "CSS", "SQL", "Perl",
        "VBA",
    ),
    "framework": (
        "Spring Boot", "Spring", "Struts", "MyBatis", "Django", "FastAPI", "Flask",
        "SQLAlchemy", "Celery", "React", "Next.js", "Vue.js", "Nuxt.js", "Angular", "Laravel",
        "CakePHP", "WordPress", "Ruby on Rails", ".NET", "ASP.NET", "Entity Framework",
        "Blazor", "WPF", "Node.js", "Express", "NestJS", "jQuery", "Flutter", "SwiftUI",
        "Combine", "RxSwift", "Jetpack Compose", "RxJava", "Redux", "Tailwind CSS",
        "Storybook", "gRPC", "Protocol Buffers", "GraphQL", "Gin", "Echo",
    ),
    "cloud_infra": (
        "AWS", "Azure", "GCP", "Terraform", "Docker", "Kubernetes", "Ansible",
        "CloudFormation", "Linux", "Windows Server", "VMware", "Nginx", "Apache", "Tomcat",
        "Prometheus", "Grafana", "Datadog", "Zabbix", "Jenkins", "GitHub Actions",
        "GitLab CI", "Cisco", "Juniper", "Fortinet", "CCNA", "ネットワーク設計",
        "Active Directory", "Microsoft 365", "Windows",
    ),
    "database": (
        "Oracle", "PostgreSQL", "MySQL", "SQL Server", "DB2", "Redis", "MongoDB", "DynamoDB",
        "BigQuery", "Snowflake", "Elasticsearch",
    ),
    "data_ml": (
        "pandas", "NumPy", "scikit-learn", "PyTorch", "TensorFlow", "Spark", "Databricks",
        "Airflow", "dbt", "Tableau", "Power BI", "LLM", "MLflow", "Jupyter",
    ),
    "mobile": ("iOS", "Android", "Firebase", "Xcode"),
    "testing": (
        "Selenium", "Playwright", "Cypress", "JMeter", "Appium", "JUnit", "pytest", "Jest",
        "RSpec", "JSTQB", "テスト設計", "テスト自動化", "テスト",
    ),
    "process": (
        "PMO", "PM", "要件定義", "基本設計", "詳細設計", "Scrum", "アジャイル",
        "ベンダーコントロール", "Backlog", "JIRA", "Redmine", "Confluence", "Excel",
        "PowerPoint", "Figma", "Git", "GitHub",
    ),
    "mainframe": ("JCL", "IMS", "CICS", "z/OS", "メインフレーム"),
    "erp_crm": (
        "SAP", "SAP S/4HANA", "SAP FI", "SAP CO", "SAP SD", "SAP MM", "SAP BASIS",
        "Salesforce", "Visualforce", "Lightning Web Components", "Sales Cloud",
        "Service Cloud",
    ),
    "embedded": ("組込み", "RTOS", "MATLAB", "AUTOSAR", "ARM"),
    "security": ("セキュリティ", "SOC", "SIEM", "Splunk", "脆弱性診断"),
    "operations": ("ヘルプデスク", "運用保守", "ITIL", "キッティング", "監視"),
}  # fmt: skip

SKILLS: tuple[str, ...] = tuple(s for group in SKILL_GROUPS.values() for s in group)

# Skills any archetype may list (weight scaled by the world's generic weight).
GENERIC_SKILLS: dict[str, float] = {
    "Git": 1.0,
    "GitHub": 0.5,
    "Linux": 0.7,
    "SQL": 0.8,
    "Docker": 0.4,
    "要件定義": 0.4,
    "基本設計": 0.7,
    "詳細設計": 0.9,
    "テスト": 0.7,
    "Excel": 0.3,
    "JIRA": 0.3,
    "Backlog": 0.2,
    "Confluence": 0.2,
    "Windows": 0.2,
}
# Upper-process skills: their weight grows with the talent's years of experience.
UPSTREAM_SKILLS: frozenset[str] = frozenset(
    {"要件定義", "基本設計", "PM", "PMO", "ベンダーコントロール"}
)


@dataclass(frozen=True)
class Archetype:
    """A role family: the skills that come together and its market economics."""

    name: str
    label: str  # Japanese label (documentation only)
    supply: float  # share of talents whose primary role this is
    demand: float  # share of projects of this kind
    core: tuple[str, ...]  # skills nearly everyone in the role lists
    optional: tuple[str, ...]  # commonly co-listed skills
    talent_price_base: int  # yen / month desired by a 0-year talent of this role
    project_price_base: int  # yen / month ceiling of an entry-level project of this role
    exp_shift: float  # added to the talent's sampled years (older/younger populations)
    # remote shares (full_remote, hybrid, onsite) for talents' wishes and projects' offers
    talent_remote: tuple[float, float, float]
    project_remote: tuple[float, float, float]


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "java_enterprise", "Java業務系", 0.17, 0.18,
        ("Java", "Spring Boot", "Spring", "Oracle", "SQL"),
        ("PostgreSQL", "MySQL", "Struts", "MyBatis", "JUnit", "Linux", "Jenkins", "Tomcat",
         "AWS", "Git", "JavaScript", "jQuery", "Shell Script", "基本設計", "詳細設計"),
        400_000, 550_000, 1.0, (0.25, 0.50, 0.25), (0.12, 0.55, 0.33),
    ),
    Archetype(
        "cloud_infra", "クラウド/SRE", 0.11, 0.13,
        ("AWS", "Terraform", "Docker", "Kubernetes", "Linux"),
        ("Ansible", "GCP", "Azure", "CloudFormation", "Python", "Go", "Prometheus", "Grafana",
         "Datadog", "GitHub Actions", "GitLab CI", "Jenkins", "Nginx", "Shell Script",
         "Zabbix"),
        450_000, 650_000, 0.0, (0.45, 0.40, 0.15), (0.30, 0.52, 0.18),
    ),
    Archetype(
        "frontend", "フロントエンド", 0.08, 0.09,
        ("JavaScript", "TypeScript", "React", "Next.js", "HTML", "CSS"),
        ("Vue.js", "Nuxt.js", "Redux", "Tailwind CSS", "Jest", "Storybook", "Figma",
         "GraphQL", "Node.js", "Angular", "Cypress", "Playwright", "Git", "GitHub"),
        420_000, 600_000, -1.0, (0.55, 0.35, 0.10), (0.38, 0.50, 0.12),
    ),
    Archetype(
        "python_web", "Pythonバックエンド", 0.05, 0.05,
        ("Python", "Django", "FastAPI", "PostgreSQL"),
        ("Flask", "Docker", "AWS", "Redis", "MySQL", "pytest", "Celery", "GCP", "Linux",
         "SQLAlchemy", "Git"),
        430_000, 600_000, -1.0, (0.50, 0.38, 0.12), (0.35, 0.50, 0.15),
    ),
    Archetype(
        "data_ml", "データ/機械学習", 0.04, 0.05,
        ("Python", "pandas", "NumPy", "scikit-learn", "SQL"),
        ("PyTorch", "TensorFlow", "Spark", "BigQuery", "Snowflake", "Databricks", "Airflow",
         "dbt", "Jupyter", "LLM", "R", "Tableau", "MLflow", "AWS", "GCP", "Power BI"),
        460_000, 700_000, -0.5, (0.45, 0.42, 0.13), (0.30, 0.55, 0.15),
    ),
    Archetype(
        "dotnet", "C#/.NET", 0.06, 0.05,
        ("C#", ".NET", "ASP.NET", "SQL Server"),
        ("Azure", "VB.NET", "Entity Framework", "Blazor", "WPF", "Windows Server",
         "PowerShell", "JavaScript", "Oracle"),
        400_000, 550_000, 1.0, (0.20, 0.48, 0.32), (0.10, 0.50, 0.40),
    ),
    Archetype(
        "php_web", "PHP/Web", 0.06, 0.05,
        ("PHP", "Laravel", "MySQL", "JavaScript"),
        ("CakePHP", "WordPress", "Vue.js", "AWS", "Docker", "jQuery", "Linux", "HTML", "CSS",
         "Git"),
        400_000, 520_000, -1.5, (0.50, 0.38, 0.12), (0.32, 0.50, 0.18),
    ),
    Archetype(
        "go_backend", "Goバックエンド", 0.03, 0.04,
        ("Go", "gRPC", "Docker", "MySQL"),
        ("Kubernetes", "GCP", "AWS", "Redis", "Protocol Buffers", "PostgreSQL", "Terraform",
         "Gin", "Echo", "GraphQL", "Git"),
        470_000, 680_000, -1.0, (0.55, 0.35, 0.10), (0.40, 0.48, 0.12),
    ),
    Archetype(
        "mobile_ios", "iOS", 0.03, 0.03,
        ("Swift", "iOS", "Xcode", "SwiftUI"),
        ("Objective-C", "Firebase", "Flutter", "RxSwift", "Combine", "Kotlin", "Git"),
        430_000, 620_000, -1.0, (0.45, 0.42, 0.13), (0.30, 0.52, 0.18),
    ),
    Archetype(
        "mobile_android", "Android", 0.03, 0.03,
        ("Kotlin", "Android", "Jetpack Compose", "Java"),
        ("Firebase", "Flutter", "Dart", "RxJava", "Git"),
        430_000, 620_000, -1.0, (0.45, 0.42, 0.13), (0.30, 0.52, 0.18),
    ),
    Archetype(
        "sap", "SAP", 0.03, 0.04,
        ("SAP", "ABAP", "SAP S/4HANA"),
        ("SAP FI", "SAP CO", "SAP SD", "SAP MM", "SAP BASIS", "要件定義", "基本設計",
         "Excel"),
        500_000, 750_000, 3.0, (0.20, 0.50, 0.30), (0.10, 0.55, 0.35),
    ),
    Archetype(
        "mainframe", "メインフレーム", 0.04, 0.03,
        ("COBOL", "JCL", "メインフレーム"),
        ("PL/I", "DB2", "IMS", "CICS", "z/OS", "詳細設計", "テスト", "Java"),
        420_000, 550_000, 8.0, (0.08, 0.32, 0.60), (0.03, 0.25, 0.72),
    ),
    Archetype(
        "qa", "QA/テスト", 0.05, 0.04,
        ("テスト設計", "テスト自動化", "Selenium"),
        ("JSTQB", "Playwright", "Cypress", "JMeter", "Appium", "Python", "Java", "JIRA",
         "Excel", "テスト"),
        380_000, 480_000, -1.0, (0.30, 0.45, 0.25), (0.18, 0.50, 0.32),
    ),
    Archetype(
        "pmo", "PM/PMO", 0.06, 0.08,
        ("PMO", "要件定義", "Excel", "PowerPoint"),
        ("PM", "基本設計", "Backlog", "JIRA", "Redmine", "Confluence", "Scrum", "アジャイル",
         "ベンダーコントロール", "SAP"),
        500_000, 700_000, 5.0, (0.25, 0.55, 0.20), (0.12, 0.60, 0.28),
    ),
    Archetype(
        "ruby_web", "Ruby/Rails", 0.03, 0.03,
        ("Ruby", "Ruby on Rails", "MySQL", "RSpec"),
        ("AWS", "Docker", "Vue.js", "React", "PostgreSQL", "Redis", "Git", "GitHub"),
        430_000, 620_000, -1.0, (0.60, 0.32, 0.08), (0.45, 0.45, 0.10),
    ),
    Archetype(
        "network", "ネットワーク/サーバ", 0.06, 0.04,
        ("Cisco", "ネットワーク設計", "Linux", "Windows Server"),
        ("CCNA", "VMware", "Active Directory", "Fortinet", "Zabbix", "AWS", "運用保守",
         "監視", "Juniper"),
        380_000, 500_000, 1.0, (0.10, 0.35, 0.55), (0.04, 0.30, 0.66),
    ),
    Archetype(
        "embedded", "組込み/制御", 0.03, 0.03,
        ("C", "C++", "組込み"),
        ("RTOS", "Linux", "Python", "MATLAB", "AUTOSAR", "ARM", "Git", "詳細設計"),
        420_000, 560_000, 2.0, (0.10, 0.35, 0.55), (0.04, 0.30, 0.66),
    ),
    Archetype(
        "salesforce", "Salesforce", 0.02, 0.03,
        ("Salesforce", "Apex", "Sales Cloud"),
        ("Visualforce", "Lightning Web Components", "Service Cloud", "JavaScript", "SQL",
         "要件定義"),
        450_000, 650_000, 0.0, (0.40, 0.45, 0.15), (0.25, 0.55, 0.20),
    ),
    Archetype(
        "helpdesk", "ヘルプデスク/運用", 0.05, 0.03,
        ("ヘルプデスク", "運用保守", "Windows"),
        ("Microsoft 365", "Active Directory", "ITIL", "キッティング", "監視", "Excel",
         "Linux"),
        300_000, 420_000, -2.0, (0.05, 0.25, 0.70), (0.02, 0.18, 0.80),
    ),
    Archetype(
        "security", "セキュリティ", 0.01, 0.02,
        ("セキュリティ", "SOC", "SIEM"),
        ("Splunk", "脆弱性診断", "AWS", "Linux", "Python", "Fortinet", "ネットワーク設計"),
        480_000, 700_000, 1.0, (0.25, 0.45, 0.30), (0.12, 0.48, 0.40),
    ),
)  # fmt: skip

# Contract-type shares (準委任, 請負, 派遣) for (talents, projects); others use the default.
DEFAULT_CONTRACT_SHARES: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    (0.72, 0.12, 0.16),
    (0.74, 0.13, 0.13),
)
CONTRACT_SHARES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "helpdesk": ((0.45, 0.05, 0.50), (0.40, 0.05, 0.55)),
    "qa": ((0.60, 0.10, 0.30), (0.62, 0.12, 0.26)),
    "network": ((0.60, 0.08, 0.32), (0.60, 0.10, 0.30)),
    "pmo": ((0.85, 0.05, 0.10), (0.88, 0.04, 0.08)),
    "sap": ((0.85, 0.10, 0.05), (0.85, 0.10, 0.05)),
    "embedded": ((0.60, 0.25, 0.15), (0.55, 0.30, 0.15)),
    "mainframe": ((0.70, 0.20, 0.10), (0.65, 0.25, 0.10)),
}

ARCHETYPE_NAMES: tuple[str, ...] = tuple(a.name for a in ARCHETYPES)
ARCHETYPE_INDEX: dict[str, int] = {a.name: i for i, a in enumerate(ARCHETYPES)}

# Hand-written "beyond the spec sheet" affinities between the role family of the
# talent (row) and of the project (column) used by the hidden chemistry.
# Positive: the combination works better than skill overlap suggests
# (infra-savvy Java developer, full-stack frontend, ex-developer PMO, Java people on
# COBOL migrations).  Negative: culture mismatch (mainframe veterans on start-up web
# stacks, helpdesk operators on development projects).
SYNERGY: tuple[tuple[str, str, float], ...] = (
    ("cloud_infra", "java_enterprise", 0.8),
    ("cloud_infra", "python_web", 0.6),
    ("cloud_infra", "go_backend", 0.7),
    ("cloud_infra", "data_ml", 0.7),
    ("go_backend", "cloud_infra", 0.6),
    ("network", "cloud_infra", 0.5),
    ("cloud_infra", "network", 0.3),
    ("python_web", "frontend", 0.6),
    ("go_backend", "frontend", 0.5),
    ("ruby_web", "frontend", 0.5),
    ("frontend", "python_web", 0.4),
    ("frontend", "ruby_web", 0.5),
    ("frontend", "php_web", 0.3),
    ("pmo", "sap", 0.7),
    ("sap", "pmo", 0.5),
    ("java_enterprise", "pmo", 0.6),
    ("pmo", "java_enterprise", 0.3),
    ("java_enterprise", "mainframe", 0.7),
    ("mainframe", "java_enterprise", 0.3),
    ("data_ml", "python_web", 0.4),
    ("python_web", "data_ml", 0.5),
    ("qa", "mobile_ios", 0.4),
    ("qa", "mobile_android", 0.4),
    ("mobile_ios", "qa", 0.3),
    ("frontend", "qa", 0.3),
    ("mobile_ios", "mobile_android", 0.4),
    ("mobile_android", "mobile_ios", 0.4),
    ("frontend", "mobile_ios", 0.3),
    ("dotnet", "salesforce", 0.3),
    ("security", "cloud_infra", 0.4),
    ("network", "security", 0.5),
    ("mainframe", "frontend", -0.8),
    ("mainframe", "go_backend", -0.8),
    ("mainframe", "python_web", -0.7),
    ("mainframe", "ruby_web", -0.8),
    ("mainframe", "data_ml", -0.7),
    ("helpdesk", "java_enterprise", -0.5),
    ("helpdesk", "frontend", -0.6),
    ("helpdesk", "go_backend", -0.6),
    ("helpdesk", "python_web", -0.5),
    ("helpdesk", "data_ml", -0.6),
    ("helpdesk", "cloud_infra", -0.4),
    ("sap", "frontend", -0.4),
    ("dotnet", "go_backend", -0.3),
    ("dotnet", "ruby_web", -0.3),
    ("embedded", "frontend", -0.5),
    ("embedded", "php_web", -0.5),
    ("qa", "data_ml", -0.3),
    ("php_web", "java_enterprise", -0.3),
    ("java_enterprise", "go_backend", -0.2),
)


def _validate() -> None:
    if len(set(SKILLS)) != len(SKILLS):
        dup = sorted({s for s in SKILLS if SKILLS.count(s) > 1})
        raise AssertionError(f"duplicate skills in catalog: {dup}")
    lower = [s.lower() for s in SKILLS]
    if len(set(lower)) != len(lower):
        raise AssertionError("skills collide after lower-casing")
    known = set(SKILLS)
    for a in ARCHETYPES:
        missing = [s for s in (*a.core, *a.optional) if s not in known]
        if missing:
            raise AssertionError(f"archetype {a.name} uses unknown skills {missing}")
    for s in (*GENERIC_SKILLS, *UPSTREAM_SKILLS):
        if s not in known:
            raise AssertionError(f"unknown generic skill {s}")
    for t, p, _ in SYNERGY:
        if t not in ARCHETYPE_INDEX or p not in ARCHETYPE_INDEX:
            raise AssertionError(f"unknown archetype in SYNERGY: {t}, {p}")
    for name, *_rest, places in PREFECTURES:
        if not places:
            raise AssertionError(f"{name} has no area/station")


_validate()

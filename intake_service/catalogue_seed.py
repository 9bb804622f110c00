"""The demo appeal catalogue `hotline seed` publishes: every category dispatch's demo routing
knows, and a few more, with the extra fields a call-taker would ask for."""

from typing import Any

from intake_service import catalogue

APPEAL_TYPES = {
    "consultation": "咨询 Consultation",
    "help": "求助 Request for help",
    "complaint": "投诉 Complaint",
    "report": "举报 Report",
    "suggestion": "建议 Suggestion",
    "praise": "表扬 Praise",
}
DISTRICTS = {"east": "东城区 East District", "west": "西城区 West District"}


def _list(
    code: str, order: int, description: str, values: dict[str, str], **kw: Any
) -> dict[str, Any]:
    return {
        "code": code,
        "order": order,
        "description": description,
        "values": [{"key": k, "name": n} for k, n in values.items()],
        "datatype": kw.pop("datatype", "singlevaluelist"),
        **kw,
    }


def _field(code: str, order: int, datatype: str, description: str, **kw: Any) -> dict[str, Any]:
    return {"code": code, "order": order, "datatype": datatype, "description": description, **kw}


APPEAL_TYPE = _list("appeal_type", 1, "诉求类型 Kind of appeal", APPEAL_TYPES)
URGENCY = _list(
    "urgency", 2, "紧急程度 Urgency", {"normal": "一般 Normal", "urgent": "紧急 Urgent"}
)
DISTRICT = _list("district", 3, "所在区 District", DISTRICTS, required=True)
SINCE = _field(
    "since",
    4,
    "datetime",
    "问题开始时间 Since when",
    datatype_description="ISO 8601 with an offset, e.g. 2026-03-03T08:00:00+08:00",
)

_SERVICES: list[tuple[str, str, str, list[str], list[dict[str, Any]]]] = [
    # (code, name, group, keywords, extra attributes besides appeal type and urgency)
    (
        "water.outage",
        "停水 Water outage",
        "utilities",
        ["停水", "没水", "water", "outage"],
        [
            SINCE,
            _list(
                "scope",
                5,
                "影响范围 How many are affected",
                {
                    "household": "本户 One household",
                    "building": "整栋 Building",
                    "area": "片区 Area",
                },
                required=True,
            ),
        ],
    ),
    (
        "water.quality",
        "水质问题 Water quality",
        "utilities",
        ["水质", "浑浊", "异味", "water quality"],
        [
            _list(
                "symptoms",
                5,
                "现象 What is wrong",
                {"turbid": "浑浊 Turbid", "smell": "异味 Smell", "colour": "变色 Colour"},
                datatype="multivaluelist",
                required=True,
            )
        ],
    ),
    ("water.pressure", "水压不足 Low water pressure", "utilities", ["水压", "水小"], [SINCE]),
    ("power.outage", "停电 Power outage", "utilities", ["停电", "断电", "power"], [SINCE]),
    ("gas.supply", "燃气供应 Gas supply", "utilities", ["燃气", "天然气", "gas"], [SINCE]),
    (
        "heating.insufficient",
        "供暖不热 Insufficient heating",
        "utilities",
        ["供暖", "暖气", "heating"],
        [_field("room_temperature", 5, "number", "室内温度（摄氏度） Room temperature in °C")],
    ),
    (
        "housing.property-fee",
        "物业费争议 Property fee dispute",
        "housing",
        ["物业费", "物业", "property fee"],
        [_field("amount", 5, "number", "涉及金额（元） Amount in yuan")],
    ),
    ("housing.repair", "房屋维修 Housing repair", "housing", ["维修", "漏水", "repair"], []),
    ("housing.rental", "租房纠纷 Rental dispute", "housing", ["租房", "押金", "rental"], []),
    (
        "traffic.bus",
        "公交服务 Bus service",
        "traffic",
        ["公交", "bus"],
        [_field("line", 5, "string", "线路 Bus line", required=True)],
    ),
    (
        "traffic.taxi",
        "出租车服务 Taxi service",
        "traffic",
        ["出租车", "拒载", "taxi"],
        [_field("plate", 5, "string", "车牌号 Licence plate")],
    ),
    ("traffic.parking", "违章停车 Illegal parking", "traffic", ["停车", "parking"], []),
    ("traffic.road-damage", "道路破损 Road damage", "traffic", ["路面", "坑洼", "road"], []),
    ("environment.noise", "噪声扰民 Noise", "environment", ["噪音", "施工", "noise"], [DISTRICT]),
    ("environment.air", "大气污染 Air pollution", "environment", ["烟尘", "异味", "air"], []),
    (
        "environment.water-pollution",
        "水体污染 Water pollution",
        "environment",
        ["河道", "排污", "pollution"],
        [],
    ),
    (
        "market.food-safety",
        "食品安全 Food safety",
        "market-regulation",
        ["食品", "过期", "food safety"],
        [_field("shop", 5, "string", "商户名称 Shop name")],
    ),
    (
        "market.consumer-rights",
        "消费维权 Consumer rights",
        "market-regulation",
        ["退款", "消费", "consumer"],
        [_field("amount", 5, "number", "涉及金额（元） Amount in yuan")],
    ),
    ("market.price", "价格违法 Pricing violation", "market-regulation", ["价格", "price"], []),
    (
        "social-security.pension",
        "养老保险 Pension",
        "social-security",
        ["养老金", "社保", "pension"],
        [],
    ),
    (
        "social-security.wages",
        "欠薪 Unpaid wages",
        "social-security",
        ["欠薪", "工资", "wages"],
        [
            _field("employer", 5, "string", "用人单位 Employer", required=True),
            _field("amount", 6, "number", "拖欠金额（元） Amount owed in yuan"),
        ],
    ),
    (
        "social-security.medical-insurance",
        "医疗保险 Medical insurance",
        "social-security",
        ["医保", "报销", "medical insurance"],
        [],
    ),
    (
        "public-security.household",
        "户籍办理 Household registration",
        "public-security",
        ["户口", "户籍", "hukou"],
        [],
    ),
    ("public-security.fraud", "诈骗线索 Fraud lead", "public-security", ["诈骗", "fraud"], []),
    (
        "urban.street-vendors",
        "占道经营 Street vendors",
        "urban-management",
        ["摊贩", "占道", "vendors"],
        [DISTRICT],
    ),
    (
        "urban.littering",
        "乱扔垃圾 Littering",
        "urban-management",
        ["垃圾", "littering"],
        [DISTRICT],
    ),
    # Complaints about the hotline's own departments: routed to the body that supervises
    # them (dispatch's demo routing: the supervision office), never to the one complained
    # about; the filing names it in `about_department` (shared/conduct.py).
    (
        "conduct.staff",
        "工作人员态度 Staff conduct",
        "conduct",
        ["态度恶劣", "辱骂", "训斥", "态度差", "骂人", "摔电话", "rude"],
        [],
    ),
    (
        "conduct.department",
        "部门作风 Department conduct",
        "conduct",
        ["推诿", "踢皮球", "不作为", "刁难", "buck-passing"],
        [],
    ),
]

# More words citizens use for each category, matched by substring on the appeal's text
# when the caller names no category (intake_service.domain.rules).
SYNONYMS: dict[str, list[str]] = {
    # water.outage: 停水 and 没水 above already cover how callers say it
    "water.quality": ["黄水", "水发黄", "水有杂质"],
    "water.pressure": ["水压低", "水流小", "高层没水压"],
    "power.outage": ["没电", "跳闸", "停止供电"],
    "gas.supply": ["煤气", "燃气灶", "没有气", "燃气泄漏", "漏气"],
    "heating.insufficient": ["不热", "供热", "室温低"],
    "housing.property-fee": ["物业收费", "物业公司"],
    "housing.repair": ["渗水", "墙皮脱落", "电梯", "楼道灯"],
    "housing.rental": ["房东", "中介", "退租"],
    "traffic.bus": ["公交车", "公交站", "班次"],
    "traffic.taxi": ["网约车", "绕路", "打表"],
    "traffic.parking": ["乱停车", "占用消防通道", "堵车库"],
    "traffic.road-damage": ["井盖", "路灯", "塌陷"],
    "environment.noise": ["噪声", "扰民", "夜间施工", "广场舞"],
    "environment.air": ["油烟", "烧烤", "焚烧", "粉尘"],
    "environment.water-pollution": ["污水", "黑臭", "偷排"],
    "market.food-safety": ["变质", "食物中毒", "无证经营"],
    "market.consumer-rights": ["预付卡", "办卡", "不退钱", "假货"],
    "market.price": ["乱收费", "明码标价", "涨价"],
    "social-security.pension": ["退休金", "养老"],
    "social-security.wages": ["拖欠工资", "讨薪", "工钱"],
    "social-security.medical-insurance": ["医疗保险", "异地就医"],
    "public-security.household": ["落户", "迁户口", "身份证办理"],
    "public-security.fraud": ["骗子", "被骗", "电信诈骗"],
    "urban.street-vendors": ["路边摊", "流动摊点"],
    "urban.littering": ["垃圾桶", "垃圾清运", "乱倒"],
    "conduct.staff": ["态度很差", "态度生硬", "吼我", "骂我", "不耐烦"],
    "conduct.department": ["推来推去", "互相推诿", "不予理睬"],
}

# Categories simple enough to file without extra fields: no service definition (metadata=false).
PLAIN = frozenset({"housing.repair", "traffic.parking", "public-security.household"})

DEMO = catalogue.Catalogue.model_validate(
    {
        "services": [
            {
                "code": code,
                "name": name,
                "description": f"12345 热线诉求类别：{name}",
                "group": group,
                "keywords": [*keywords, *SYNONYMS.get(code, [])],
                "attributes": [] if code in PLAIN else [APPEAL_TYPE, URGENCY, *extra],
            }
            for code, name, group, keywords, extra in _SERVICES
        ]
    }
)

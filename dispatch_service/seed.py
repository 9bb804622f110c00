"""Demo departments and routing for two districts, loaded by `hotline seed`. Every category
of the demo catalogue (intake_service/catalogue_seed.py) has a route; what no rule places
goes to its district's government (the `*` rules), the city office last."""

from datetime import UTC, datetime
from typing import Any

from dispatch_service import store
from dispatch_service.domain import sla
from shared.runtime.eventstore import Tx

DEPARTMENTS: list[dict[str, Any]] = [
    {"id": "water", "name": "市水务局 Water Authority", "district": None},
    {"id": "power", "name": "国网供电公司 Power Supply Company", "district": None},
    {
        "id": "housing",
        "name": "市住房和城乡建设局 Housing and Construction Bureau",
        "district": None,
    },
    {"id": "traffic", "name": "市交通运输局 Transport Bureau", "district": None},
    {"id": "environment", "name": "市生态环境局 Ecology and Environment Bureau", "district": None},
    {"id": "market", "name": "市市场监督管理局 Market Regulation Administration", "district": None},
    {
        "id": "social-security",
        "name": "市人力资源和社会保障局 Human Resources and Social Security",
        "district": None,
    },
    {"id": "public-security", "name": "市公安局 Public Security Bureau", "district": None},
    {"id": "gas", "name": "市燃气集团 City Gas Group", "district": None},
    {"id": "heating", "name": "市热力集团 City Heating Group", "district": None},
    {"id": "gov-east", "name": "东城区人民政府 East District Government", "district": "east"},
    {"id": "gov-west", "name": "西城区人民政府 West District Government", "district": "west"},
    {
        "id": "urban-east",
        "name": "东城区城市管理局 East District Urban Management",
        "district": "east",
    },
    {
        "id": "urban-west",
        "name": "西城区城市管理局 West District Urban Management",
        "district": "west",
    },
    {"id": "gov-city", "name": "市人民政府办公厅 City Government General Office", "district": None},
    # Supervises the departments' conduct: complaints about them come here (shared/conduct.py).
    {
        "id": "supervision",
        "name": "市政府督查室 City Government Supervision Office",
        "district": None,
    },
]

_CITY_WIDE = {
    "water.outage": "water",
    "water.quality": "water",
    "water.pressure": "water",
    "gas.supply": "gas",
    "heating.insufficient": "heating",
    "housing.rental": "housing",
    "traffic.parking": "public-security",  # the traffic police
    "environment.water-pollution": "environment",
    "market.price": "market",
    "social-security.medical-insurance": "social-security",
    "public-security.fraud": "public-security",
    "power.outage": "power",
    "housing.property-fee": "housing",
    "housing.repair": "housing",
    "traffic.bus": "traffic",
    "traffic.taxi": "traffic",
    "environment.noise": "environment",
    "environment.air": "environment",
    "market.food-safety": "market",
    "market.consumer-rights": "market",
    "social-security.pension": "social-security",
    "social-security.wages": "social-security",
    "public-security.household": "public-security",
    "conduct.staff": "supervision",
    "conduct.department": "supervision",
}
_BY_DISTRICT = {
    "urban.street-vendors": "urban",
    "urban.littering": "urban",
    "traffic.road-damage": "urban",
    "environment.noise": "urban",
}

RULES: list[dict[str, Any]] = (
    [
        {
            "rule_id": f"city:{category}",
            "category": category,
            "district": None,
            "department": department,
        }
        for category, department in _CITY_WIDE.items()
    ]
    + [
        {
            "rule_id": f"{district}:{category}",
            "category": category,
            "district": district,
            "department": f"{prefix}-{district}",
        }
        for district in ("east", "west")
        for category, prefix in _BY_DISTRICT.items()
    ]
    + [
        # 兜底: a district's government takes what no rule places there
        {
            "rule_id": f"{district}:*",
            "category": "*",
            "district": district,
            "department": f"gov-{district}",
        }
        for district in ("east", "west")
    ]
)


async def seed(tx: Tx) -> tuple[int | None, int | None]:
    """Publish the demo routing and SLA policy; (routing version, policy version), None for
    each that was already current."""
    routing_version = await store.publish_routing(
        tx, departments_=DEPARTMENTS, rules=RULES, fallback_department="gov-city"
    )
    # The first policy governs every appeal, whenever received; a later seed, from now on.
    first = not await store.list_policies(tx)
    effective_from = sla.SINCE_EVER if first else datetime.now(UTC)
    return routing_version, await store.publish_policy(
        tx, sla.DEMO_POLICY, effective_from=effective_from
    )

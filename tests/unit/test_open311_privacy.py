"""What Open311 publishes without a key: which appeals, and how their text is masked."""

import pytest

from intake_service import catalogue_seed
from intake_service.catalogue import AttributeValue
from intake_service.open311 import filing, params, privacy
from intake_service.open311.errors import Open311Error

NUMBER_FORMS = [
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    "138.0013.8000",
    "+86 138 0013 8000",
    "+86-138-0013-8000",
    "+8613800138000",
    "0086 13800138000",
    "(+86)13800138000",
    "１３８００１３８０００",  # full-width digits
    "8613800138000",
]
LANDLINES = [
    "010-12345678",
    "(010) 1234 5678",
    "（010）12345678",
    "0755-8765 4321",
    "+86 10 1234 5678",
    "+86-755-87654321",
    "021 1234 5678",
]


@pytest.mark.parametrize("number", NUMBER_FORMS)
def test_every_way_of_writing_a_mobile_number_is_masked(number: str) -> None:
    masked = privacy.mask(f"请回电 {number} 谢谢")
    assert "0013" not in masked, masked
    assert masked.startswith("请回电 ")
    assert masked.endswith(" 谢谢")


@pytest.mark.parametrize("number", LANDLINES)
def test_every_way_of_writing_a_landline_is_masked(number: str) -> None:
    masked = privacy.mask(f"座机{number}。")
    assert "1234" not in masked
    assert "8765" not in masked


@pytest.mark.parametrize(
    "id_number", ["11010119900307123X", "110101199003071234", "110101900307123"]
)
def test_id_card_numbers_are_masked(id_number: str) -> None:
    masked = privacy.mask(f"身份证{id_number}")
    assert "900307" not in masked, masked


def test_dates_times_and_short_numbers_stay_readable() -> None:
    text = "2024-05-01 18:00 第2轮，3号楼502室，金额 1,200 元"
    assert privacy.mask(text) == text


def test_the_citizens_own_name_is_masked() -> None:
    assert privacy.mask("张三反映：张三家门口积水", names=["张三"]) == "张*反映：张*家门口积水"
    # Open311 files `last_name first_name`: each part is masked too.
    assert privacy.mask("Li Wei says Wei Li", names=["Li Wei"]) == "L***** says W** L*"
    assert privacy.mask("no name", names=[None, ""]) == "no name"


def test_coordinates_are_rounded_to_about_a_hundred_metres() -> None:
    assert privacy.coordinate(39.9087654) == 39.909
    assert privacy.coordinate(-116.3974) == -116.397
    assert privacy.coordinate(None) is None


@pytest.mark.parametrize(
    ("appeal_type", "channel", "citizen", "public"),
    [
        ("complaint", "open311", {"anonymous": False}, True),  # filing to Open311 is consent
        ("complaint", "open311", {"anonymous": False, "public_consent": False}, False),
        ("complaint", "phone", {"anonymous": False}, False),  # never asked
        ("complaint", "phone", {"anonymous": False, "public_consent": True}, True),
        ("report", "open311", {"anonymous": False, "public_consent": True}, False),
        ("complaint", "open311", {"anonymous": True, "public_consent": True}, False),
        ("complaint", "open311", {}, False),  # a citizen we cannot read is not published
    ],
)
def test_what_may_be_published(
    appeal_type: str, channel: str, citizen: dict[str, object], public: bool
) -> None:
    assert privacy.may_publish(appeal_type=appeal_type, channel=channel, citizen=citizen) is public


def test_an_address_keeps_its_road_not_its_door() -> None:
    assert privacy.road("新华路88弄5号楼1201室") == "新华路"
    assert privacy.road("东城区幸福路２号") == "东城区幸福路"  # full-width digits too
    assert privacy.road("Example Road 12, flat 3") == "Example Road"
    assert privacy.road("12 Example Road") is None
    assert privacy.road("王小明家楼下7号", names=["王小明"]) == "王**家楼下"


def test_a_catalogue_district_that_is_no_district_code_is_a_400_not_a_500() -> None:
    """A district list is the operator's to publish (`East` passes the catalogue's key
    pattern, not the facts' district code): a filing naming it is refused as Open311's
    400, before anything is recorded."""
    noise = catalogue_seed.DEMO.find("environment.noise")
    assert noise is not None
    [district] = [a for a in noise.attributes if a.code == "district"]
    odd = district.model_copy(update={"values": (AttributeValue(key="East", name="东城区"),)})
    service = noise.model_copy(
        update={"attributes": tuple(odd if a.code == "district" else a for a in noise.attributes)}
    )
    form = params.parse_form(b"lat=39.9&long=116.4&description=x&attribute[district]=East")
    with pytest.raises(Open311Error, match="not a district code"):
        filing.new_appeal(service, form)

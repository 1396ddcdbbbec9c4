"""The reward catalogue of 州政办发〔2018〕25号 (seed 004), as data.

Each reward has its clause, its amount (None where the document leaves the amount to the paying
government), its same-type group, how it is decided (computed from sales data, from the yearly
station rating, or applied for with evidence), who receives it, which fund pays it, and whether it
is one-time for a recipient or given every year.

Reading choices, made here once:

* "同类型奖励、补助就高不就低，不重复计算": rewards of one numbered clause are one type (a group),
  except clause (十七), which names two different things (an overseas O2O shop and an overseas
  warehouse), kept as two groups, and clause (二), whose operator subsidy (prefecture money) and
  branch subsidy (county money) are different things too. Within a group a recipient is paid at
  most the amount of the highest reward it qualifies for, in total: a higher reward after a lower
  one pays the difference (domain.ledger).
* Clause (一) is a yearly rating: a station may be rated again in a later year; each level is paid
  once per station per year. Every other fixed reward is one-time ("一次性") per recipient.
* 十佳电商企业 and 十大电商达人 are not in the document: they are the bureau's selections (seed 000),
  honours without a fixed prize. They are in the catalogue so that a prize an organizer attaches
  reaches the ledger like any other money; each selection stands on its own.
* The prefecture's special fund (clause 十八, 1000 万元 a year) pays the fixed rewards. The amounts
  the document leaves to "当地财政" (county money: the 湘西馆 branch subsidy, local support for
  sales, association grants) are applied for the same way and charged to the county's own fund
  (at least 500 万元 a year); their amount is set at approval.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Mapping

from domain.money import wan_yuan


class Basis(Enum):
    SALES = "sales"  # computed from the year's sales data (clause 四 milestones)
    RATING = "rating"  # computed from the yearly service-site rating (clause 一)
    APPLICATION = "application"  # applied for with evidence, reviewed step by step (clause 二十)
    SELECTION = "selection"  # selected from a board (十佳电商企业, 十大电商达人): an honour, a prize optional

    @property
    def label(self) -> str:
        return {"sales": "按销售数据计算", "rating": "年度评定", "application": "申报评审",
                "selection": "榜单评选"}[self.value]


class Recipient(Enum):
    ENTERPRISE = "enterprise"
    STATION = "station"
    COUNTY = "county"
    ORGANISATION = "organisation"  # a park operator, an association, a platform operator
    HOST = "host"  # a livestream host (十大电商达人)

    @property
    def label(self) -> str:
        return {"enterprise": "企业", "station": "电商服务站点", "county": "县市",
                "organisation": "单位（园区运营方、协会等）", "host": "主播（电商达人）"}[self.value]


class Funding(Enum):
    PREFECTURE = "prefecture"  # 州电子商务发展专项资金
    COUNTY = "county"  # 县市电子商务发展专项资金 ("由当地财政给予")

    @property
    def label(self) -> str:
        return "州级专项资金" if self is Funding.PREFECTURE else "县市专项资金"


class Repeat(Enum):
    ONCE = "once"  # one-time per recipient
    YEARLY = "yearly"  # may be given again in another year
    PER_LIST = "per_list"  # each selection (a campaign's, a year's) stands on its own

    @property
    def label(self) -> str:
        return {"once": "一次性", "yearly": "每年评定", "per_list": "每次评选"}[self.value]


@dataclass(frozen=True)
class Reward:
    code: str
    group: str  # same-type group: never summed, highest only
    group_name: str
    clause: str  # clause of 州政办发〔2018〕25号
    name: str
    amount_fen: int | None  # None: set at approval (county money)
    basis: Basis
    recipient: Recipient
    funding: Funding
    repeat: Repeat
    conditions: str  # the document's conditions, shown to applicants and reviewers
    tier: int = 1  # order inside the group (sales milestones 1..3; national above provincial)

    @property
    def fixed(self) -> bool:
        return self.amount_fen is not None

    def as_dict(self) -> dict:
        return {"code": self.code, "group": self.group, "group_name": self.group_name, "clause": self.clause,
                "name": self.name, "amount_fen": self.amount_fen, "basis": self.basis.value,
                "basis_name": self.basis.label, "recipient": self.recipient.value,
                "recipient_name": self.recipient.label, "funding": self.funding.value,
                "funding_name": self.funding.label, "repeat": self.repeat.value, "repeat_name": self.repeat.label,
                "conditions": self.conditions, "tier": self.tier}


def _r(code, group, group_name, clause, name, amount_wan, basis, recipient, conditions, *, tier=1,
       funding=Funding.PREFECTURE, repeat=Repeat.ONCE) -> Reward:
    return Reward(code, group, group_name, clause, name, None if amount_wan is None else wan_yuan(amount_wan),
                  basis, recipient, funding, repeat, conditions, tier)


_A, _S, _R, _SEL = Basis.APPLICATION, Basis.SALES, Basis.RATING, Basis.SELECTION
_E, _ST, _C, _O = Recipient.ENTERPRISE, Recipient.STATION, Recipient.COUNTY, Recipient.ORGANISATION
_SELECT = "按活动或年度榜单评选：注册地在湘西州、未被取消资格、达到组织方设定的最低净成交额和订单数"
_SITE = "根据交易业绩和服务质量，全州每年评定 2 个县市区电商运营中心、10 个乡镇（街道）电商服务站、10 个村（社区）电商服务点"
_MILESTONE = "网上销售我州农产品，年度销售额首次突破该档，且依法纳税"

CATALOGUE: Mapping[str, Reward] = {r.code: r for r in (
    _r("site_county_centre", "service_site_rating", "电商服务站点评定", "（一）", "县市区电商运营中心", 8, _R, _ST,
       _SITE, tier=3, repeat=Repeat.YEARLY),
    _r("site_township_station", "service_site_rating", "电商服务站点评定", "（一）", "乡镇（街道）电商服务站", 3, _R, _ST,
       _SITE, tier=2, repeat=Repeat.YEARLY),
    _r("site_village_point", "service_site_rating", "电商服务站点评定", "（一）", "村（社区）电商服务点", 1, _R, _ST,
       _SITE, tier=1, repeat=Repeat.YEARLY),
    _r("xiangxi_pavilion_operator", "xiangxi_pavilion", "“湘西馆”运营", "（二）", "“湘西馆”运营费用补贴", 50, _A, _O,
       "受州人民政府委托，在知名电子商务第三方平台开设“湘西馆”的运营主体"),
    _r("xiangxi_pavilion_branch", "xiangxi_pavilion_branch", "“湘西馆”分馆", "（二）", "“湘西馆”分馆入驻企业销售补贴",
       None, _A, _E, "在“湘西馆”县市分馆入驻的企业，按年度销售业绩由当地财政给予补贴",
       funding=Funding.COUNTY, repeat=Repeat.YEARLY),
    _r("self_built_platform", "self_built_platform", "自建电子商务平台", "（三）", "自建电子商务平台", 10, _A, _E,
       "依托自身实体或商品交易市场建立网上商城、网上商品交易市场等平台，正常运营一年以上，依法纳税且年度交易额稳定在 1000 万元以上"),
    _r("sales_milestone_1", "sales_milestone", "电商企业年度销售额首次突破奖励", "（四）", "年度销售额首次突破1000万元", 5,
       _S, _E, _MILESTONE, tier=1),
    _r("sales_milestone_2", "sales_milestone", "电商企业年度销售额首次突破奖励", "（四）", "年度销售额首次突破3000万元", 10,
       _S, _E, _MILESTONE, tier=2),
    _r("sales_milestone_3", "sales_milestone", "电商企业年度销售额首次突破奖励", "（四）", "年度销售额首次突破5000万元", 20,
       _S, _E, _MILESTONE, tier=3),
    _r("local_sales_support", "local_sales_support", "个人及合作社网上销售支持", "（四）", "个人、合作社、龙头企业网上销售支持",
       None, _A, _O, "个人、农民专业合作社、农业产业化龙头企业等利用电子商务平台销售当地农产品，销售业绩达到一定规模",
       funding=Funding.COUNTY, repeat=Repeat.YEARLY),
    _r("demo_enterprise_national", "demonstration_enterprise", "电子商务示范企业", "（五）", "国家级电子商务示范企业", 30,
       _A, _E, "荣获国家级电子商务示范企业称号", tier=2),
    _r("demo_enterprise_provincial", "demonstration_enterprise", "电子商务示范企业", "（五）", "省级电子商务示范企业", 20,
       _A, _E, "荣获省级电子商务示范企业称号", tier=1),
    _r("ecommerce_park", "ecommerce_park", "电子商务产业园区", "（九）", "电子商务产业园区", 50, _A, _O,
       "占地面积 5 亩以上，入驻电商企业达 20 家以上、入驻企业使用面积不低于 60%，统一物业服务、配套设施完善、运行一年以上"),
    _r("demo_park_national", "demonstration_park", "电子商务示范园区（基地）", "（十）", "国家级电子商务示范园区（基地）", 100,
       _A, _O, "荣获国家级电子商务示范园区（基地）", tier=2),
    _r("demo_park_provincial", "demonstration_park", "电子商务示范园区（基地）", "（十）", "省级电子商务示范园区（基地）", 50,
       _A, _O, "荣获省级电子商务示范园区（基地）", tier=1),
    _r("demo_county_national", "demonstration_county", "电子商务进农村综合示范县", "（十一）",
       "国家级电子商务进农村综合示范县", 50, _A, _C, "成功申报为国家级电子商务进农村综合示范县", tier=2),
    _r("demo_county_provincial", "demonstration_county", "电子商务进农村综合示范县", "（十一）",
       "省级电子商务进农村综合示范县", 20, _A, _C, "成功申报为省级电子商务进农村综合示范县", tier=1),
    _r("delivery_network", "delivery_network", "物流配送体系", "（十三）", "电子商务物流配送网络", 50, _A, _E,
       "电子商务物流配送公共服务平台企业（包括快递行业），配送网络县市区覆盖率 100%、乡镇（街道）覆盖率 80% 以上、村（社区）覆盖率 50% 以上"),
    _r("industry_association", "industry_association", "电子商务行业组织", "（十六）", "电子商务行业协会经费补助", None, _A,
       _O, "电子商务行业协会、专业配套服务协会或团体，按分级管理原则由当地财政每年给予经费补助",
       funding=Funding.COUNTY, repeat=Repeat.YEARLY),
    _r("overseas_o2o_shop", "overseas_o2o_shop", "海外O2O体验店", "（十七）", "海外湘西特产O2O体验店", 10, _A, _E,
       "州内企业在海外建立和经营湘西特产线下 O2O 体验店，门店面积 100 平方米以上、正常运营一年以上、年交易额 100 万美元以上"),
    _r("overseas_warehouse", "overseas_warehouse", "海外托管仓", "（十七）", "海外托管仓", 10, _A, _E,
       "州内企业自建跨境电商平台或入驻海外知名电商平台销售我州农产品，并建立海外托管仓，仓储面积 200 平方米以上"),
    _r("selection_top_enterprises", "selection_top_enterprises", "十佳电商企业", "（评选）", "十佳电商企业", None, _SEL, _E,
       _SELECT + "；企业须依法纳税", repeat=Repeat.PER_LIST),
    _r("selection_top_influencers", "selection_top_influencers", "十大电商达人", "（评选）", "十大电商达人", None, _SEL,
       Recipient.HOST, _SELECT, repeat=Repeat.PER_LIST),
)}

MILESTONE_CODES = {1: "sales_milestone_1", 2: "sales_milestone_2", 3: "sales_milestone_3"}
SELECTION_CODES = {"top_enterprises": "selection_top_enterprises", "top_influencers": "selection_top_influencers"}
STATION_CODES = {"county_centre": "site_county_centre", "township_station": "site_township_station",
                 "village_point": "site_village_point"}


def reward(code: str) -> Reward:
    try:
        return CATALOGUE[code]
    except KeyError:
        raise ValueError(f"unknown reward {code!r}") from None


def group_members(group: str) -> tuple[Reward, ...]:
    return tuple(r for r in CATALOGUE.values() if r.group == group)


def applicable() -> tuple[Reward, ...]:
    """Rewards that are applied for (the others are computed)."""
    return tuple(r for r in CATALOGUE.values() if r.basis is Basis.APPLICATION)

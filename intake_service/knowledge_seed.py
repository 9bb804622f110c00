"""The demo knowledge base `hotline seed intake` publishes: answers a call-taker gives
without a work order, as a city's 12345 centre keeps them."""

from intake_service.articles import ArticleContent

DEMO: dict[str, ArticleContent] = {
    "water.bill-payment": ArticleContent(
        title="水费缴纳方式",
        body=(
            "水费可通过以下方式缴纳：1. 自来水公司各营业厅柜台；2. 微信或支付宝“生活缴费”"
            "搜索本市自来水公司；3. 银行代扣（携带户号到开户行办理）。逾期未缴将按日加收滞纳金。"
        ),
        categories=("water.outage",),
        keywords=("交水费", "缴费", "水费单"),
    ),
    "power.outage-notice": ArticleContent(
        title="计划停电信息查询",
        body=(
            "计划检修停电会提前在供电公司网站及公众号公告。可拨打 95598 或在“网上国网”"
            "App 输入户号查询本户停电原因和预计恢复时间。"
        ),
        categories=("power.outage",),
        keywords=("停电通知", "什么时候来电"),
    ),
    "public-security.hukou-transfer": ArticleContent(
        title="户口迁移办理指南",
        body=(
            "市内户口迁移：携带户口簿、居民身份证和房产证明（或集体户接收证明）到迁入地派出所"
            "户籍窗口办理，即时办结。跨省迁移可通过“跨省通办”在迁入地一站办理。"
        ),
        categories=("public-security.household",),
        keywords=("迁户口", "落户"),
    ),
    "social-security.pension-query": ArticleContent(
        title="养老金发放和到账查询",
        body=(
            "养老金每月 10 日前发放至社保卡金融账户。可通过“掌上 12333”App、社保经办窗口"
            "或银行网点查询到账情况；未按时到账请联系参保地社保经办机构。"
        ),
        categories=("social-security.pension",),
        keywords=("养老金没到账", "退休金"),
    ),
    "social-security.medical-reimbursement": ArticleContent(
        title="异地就医医保报销流程",
        body=(
            "异地就医先通过“国家医保服务平台”App 办理备案，备案后在定点医院直接结算；"
            "未备案的，出院后携带发票、费用清单和病历到参保地医保经办窗口手工报销。"
        ),
        categories=("social-security.medical-insurance",),
        keywords=("医保报销", "异地就医"),
    ),
    "housing.rental-deposit": ArticleContent(
        title="租房押金纠纷的解决途径",
        body=(
            "押金退还争议先与房东或中介协商；协商不成可向房屋所在地街道人民调解委员会申请调解，"
            "或向人民法院提起民事诉讼。中介机构违规可向住房和城乡建设部门举报。"
        ),
        categories=("housing.rental",),
        keywords=("押金不退", "退押金"),
    ),
}

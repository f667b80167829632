"""The stages an opportunity moves through, in order, and the reasons it can be lost."""

from enum import StrEnum


class Stage(StrEnum):
    IDENTIFY = "identify"  # 潜在客户识别 / 线索
    CONTACT = "contact"  # 接触 / 达成联系
    NEEDS_ANALYSIS = "needs_analysis"  # 需求分析
    PROPOSAL = "proposal"  # 解决方案提供 / 提案
    NEGOTIATION = "negotiation"  # 谈判与异议处理
    DEAL = "deal"  # 成交 (closed won)
    AFTER_SALES = "after_sales"  # 售后服务

    @property
    def position(self) -> int:
        return STAGE_ORDER.index(self)

    @property
    def next(self) -> "Stage | None":
        i = self.position + 1
        return STAGE_ORDER[i] if i < len(STAGE_ORDER) else None

    @property
    def is_open(self) -> bool:
        """Stages before the deal: an opportunity in one of them can still be lost."""
        return self.position < Stage.DEAL.position


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


class LossReason(StrEnum):
    PRICE = "price"
    COMPETITOR = "competitor"
    NO_BUDGET = "no_budget"
    NO_DECISION = "no_decision"
    OTHER = "other"


class ForecastCategory(StrEnum):
    """How sure a deal is, for the forecast by category: from its stage (the pipeline's
    `forecast_category`), or set on the deal (`ForecastCategorySet`)."""

    COMMIT = "commit"  # the rep commits to winning it in its close month
    BEST_CASE = "best_case"  # could be won in its close month
    PIPELINE = "pipeline"  # open, too early to call

"""Pydantic models of the merchant API (``/merchant/v1``) and of the enrichment file columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 1000


class MerchantRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    merchant_description: str = Field(
        min_length=1, max_length=512, description="The raw descriptor as printed on the statement."
    )
    trans_category: Literal["olb", "pos", "other"] = Field(
        description="Where the transaction came from: online banking, point of sale, other."
    )
    trans_type: Literal["debit", "credit"] = Field(description="Money out (debit) or in (credit).")
    mcc: str | None = Field(
        None, pattern=r"^[0-9]{3,4}$", description="ISO 18245 merchant category code, if known."
    )
    amount: Decimal | None = Field(
        None, ge=0, max_digits=18, decimal_places=2, description="Amount (USD), if known."
    )


class MerchantBatchRequest(BaseModel):
    items: list[MerchantRequest] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} descriptors."
    )


class Classification(BaseModel):
    classification: str | None = Field(description="Display value.")


class Location(BaseModel):
    city: str | None
    state: str | None
    zip: str | None
    country: str | None


class MerchantDetail(BaseModel):
    classification: str | None = Field(description="Merchant name.")
    logoUrl: str | None = Field(description="Logo URL, when the directory has one.")
    location: Location


class MatchDetail(BaseModel):
    cleansed: str = Field(description="Human-readable transaction line.")
    merchant: MerchantDetail
    category1: Classification = Field(description="Broad category (category_group).")
    category2: Classification = Field(description="Specific category.")
    mcc: Classification = Field(description="MCC description.")


class MerchantResponse(BaseModel):
    """The established response shape plus Sightline's own fields (snake_case) beside it."""

    matchType: Literal["EXACT", "SIMILAR", "NONE"]
    matchScore: float = Field(ge=0, le=1)
    transId: str = Field(description="Id generated for this answer.")
    transType: Literal["debit", "credit"]
    network: str = Field(description="CARD, ACH, P2P, CHECK, ATM, TRANSFER or INTERNAL.")
    matchDetail: MatchDetail
    cleansed: str
    merchant_id: str | None = Field(description="Directory merchant id, if matched.")
    merchant_name: str | None
    sub_merchant: str | None = Field(description="Restaurant behind a delivery app, seller, ...")
    city: str | None
    state: str | None
    category: str | None
    category_group: str | None
    pfc_primary: str | None = Field(description="Plaid personal finance category v2, primary.")
    pfc_detailed: str | None = Field(description="Plaid personal finance category v2, detailed.")
    mcc_description: str | None
    merchant_kli_code: int | None = Field(description="The merchant's KLI code (Consumer Spend).")
    competitive_fi: str | None = Field(description="Competing institution paid, if any.")
    competitive_fi_id: str | None
    fi_product: str | None = Field(description="The competing institution's product.")
    transaction_kind: str = Field(
        description="card_purchase, ach_debit, ach_credit, payroll, p2p, transfer, fee, atm, "
        "check, refund or interest."
    )
    match_type: Literal["EXACT", "SIMILAR", "NONE"]
    match_score: float = Field(ge=0, le=1)


class MerchantBatchResponse(BaseModel):
    items: list[MerchantResponse]

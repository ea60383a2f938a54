"""The billing models, one module per topic; imported from here (`billing.models.X`)."""

from .alerts import AlertSettings, CreditAlert, PriceIncreaseNotice, default_thresholds
from .dunning import AccountStanding, InvoiceReminder
from .invoices import (
    CreditNote,
    CreditNoteLine,
    CreditNoteSequence,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
)
from .payments import (
    ChargilyCheckout,
    Payment,
    Recharge,
    TransferProof,
    WebhookEvent,
    proof_upload_to,
)
from .subscriptions import (
    DEFAULT_PAYMENT_TERMS,
    BillingSettings,
    PayAsYouGoChange,
    PlanChange,
    Subscription,
)
from .usage import (
    PRICE_DIGITS,
    BillingPeriod,
    CloseFailure,
    KeySpend,
    PeriodFee,
    PrepaidBalance,
    UsageDaily,
    UsageEvent,
)

__all__ = [
    "DEFAULT_PAYMENT_TERMS",
    "PRICE_DIGITS",
    "AccountStanding",
    "AlertSettings",
    "BillingPeriod",
    "BillingSettings",
    "ChargilyCheckout",
    "CloseFailure",
    "CreditAlert",
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteSequence",
    "Invoice",
    "InvoiceLine",
    "InvoiceReminder",
    "InvoiceSequence",
    "KeySpend",
    "PayAsYouGoChange",
    "Payment",
    "PeriodFee",
    "PlanChange",
    "PrepaidBalance",
    "PriceIncreaseNotice",
    "Recharge",
    "Subscription",
    "TransferProof",
    "UsageDaily",
    "UsageEvent",
    "WebhookEvent",
    "default_thresholds",
    "proof_upload_to",
]

"""The two ways a partner call fails; activities map them to retryable and non-retryable errors."""


class PartnerUnavailable(Exception):
    """Transient: timeout, connection reset, 5xx, 429. Retried with backoff."""

    def __init__(self, partner: str, detail: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(f"{partner} unavailable: {detail}")
        self.partner = partner
        self.retry_after_seconds = retry_after_seconds


class PartnerRejected(Exception):
    """A business answer: no seats, no session in that language, request refused. Never retried as is."""

    def __init__(self, partner: str, code: str, reason: str) -> None:
        super().__init__(f"{partner} rejected: {code}: {reason}")
        self.partner = partner
        self.code = code
        self.reason = reason

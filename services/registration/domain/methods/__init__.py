"""Registration methods as strategies, one module each (Ory Kratos style).

A method module knows its fields, validates them (pure), and states how the person is proven
(here: which external record must match). ``handlers`` picks the strategy by name. The methods
of API.md not built yet are recognised and answered with a clear "not available yet".
"""

from __future__ import annotations

from services.registration.domain.errors import ValidationFailed

AVAILABLE_METHODS = ("mobile", "bhxh", "sim", "usb", "vneid")
# Named by API.md and FLOWS.md but not served yet (none left; kept for the next method).
PLANNED_METHODS: tuple[str, ...] = ()
SUBJECT_TYPES = ("citizen", "enterprise")

_METHOD_LABEL = {"bhxh": "mã số BHXH", "sim": "SIM ký số", "usb": "USB ký số"}


def choose_method(method: object) -> str:
    """The registration method named by the start, if this service can serve it now."""
    if method is None or method == "":
        raise ValidationFailed([{"name": "method", "detail": "Vui lòng chọn phương thức đăng ký."}])
    if method in AVAILABLE_METHODS:
        return str(method)
    if method in PLANNED_METHODS:
        detail = (f"Phương thức đăng ký bằng {_METHOD_LABEL[method]} chưa được hỗ trợ; "
                  "vui lòng đăng ký bằng thuê bao di động.")
    else:
        detail = "Phương thức đăng ký không hợp lệ; hãy chọn: " + ", ".join(
            AVAILABLE_METHODS + PLANNED_METHODS) + "."
    raise ValidationFailed([{"name": "method", "detail": detail}], detail=detail)

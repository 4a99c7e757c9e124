"""Vietnamese tax codes (mã số thuế, MST) of enterprises: checked by ``python-stdnum``.

An MST is 10 digits (the last one a check digit over the first nine, weights 31, 29, 23, 19,
17, 13, 7, 5, 3), or 13 for a branch, written ``NNNNNNNNNN-NNN`` (the parent's ten digits, then
the branch number 001–999). The check-digit rule and the invalid components are the library's
(``stdnum.vn.mst``), not re-implemented here; this module only fixes which spellings a person may
type and says in Vietnamese what is wrong.
"""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.vn import mst

from services.registration.domain.errors import InvalidTaxCode

# 10 digits, or 13 with the branch part after a dash (or typed without it). Spaces and dots
# people put between groups are dropped first, as for ID numbers.
_SHAPE = re.compile(r"^\d{10}(?:-?\d{3})?$")


def normalize_tax_code(raw: str) -> str:
    """The canonical form (``0100109106`` or ``0100109106-506``) or InvalidTaxCode."""
    typed = re.sub(r"[\s.]", "", raw)
    if not typed.isascii() or not _SHAPE.match(typed):
        raise InvalidTaxCode("Mã số thuế gồm 10 chữ số, hoặc 13 chữ số dạng NNNNNNNNNN-NNN "
                             "đối với chi nhánh.")
    try:
        return str(mst.format(mst.validate(typed)))
    except InvalidChecksum as exc:
        raise InvalidTaxCode("Mã số thuế không đúng: chữ số kiểm tra (chữ số thứ 10) không khớp; "
                             "vui lòng kiểm tra lại.") from exc
    except InvalidComponent as exc:
        raise InvalidTaxCode("Mã số thuế không đúng: số thứ tự doanh nghiệp hoặc số chi nhánh "
                             "không thể bằng 0.") from exc
    except ValidationError as exc:  # any other refusal of the library
        raise InvalidTaxCode() from exc

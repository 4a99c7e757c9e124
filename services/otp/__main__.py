"""``python -m services.otp``: runs the otp service."""

from __future__ import annotations

import asyncio

from services.otp import __version__
from services.otp.config import OtpSettings
from services.otp.entrypoints import wire
from shared.liveness import exit_if_check
from shared.runtime import serve


def main() -> None:
    exit_if_check("otp")  # `--check`: the probes ask this instance's heartbeat
    asyncio.run(serve("otp", __version__, "Mã OTP: phát hành, gửi SMS, xác minh, giới hạn gửi",
                      OtpSettings(), wire))


if __name__ == "__main__":
    main()

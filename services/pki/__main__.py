import asyncio

from services.pki.config import PkiSettings
from services.pki.entrypoints import wire
from shared.liveness import exit_if_check
from shared.runtime import serve

if __name__ == "__main__":
    exit_if_check("pki")  # `--check`: the probes ask this instance's heartbeat
    asyncio.run(serve("pki", "0.2.0", "Certificates and signatures", PkiSettings(), wire))

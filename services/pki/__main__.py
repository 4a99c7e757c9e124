import asyncio

from services.pki.config import PkiSettings
from services.pki.entrypoints import wire
from shared.runtime import serve

if __name__ == "__main__":
    asyncio.run(serve("pki", "0.2.0", "Certificates and signatures", PkiSettings(), wire))

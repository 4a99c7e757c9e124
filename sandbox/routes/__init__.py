"""One router per simulated system, plus the dev routes that let tests shape the world."""

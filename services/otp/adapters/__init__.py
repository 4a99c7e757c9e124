"""Adapters of the otp service: MongoDB storage and the Twilio SMS gateway."""

"""Security of the platform: two-factor login (`twofactor`), the brute-force lockout (`lockout`), the
audit trail (`audit`, with its pages and API), and personal data kept out of the logs (`logredact`)."""

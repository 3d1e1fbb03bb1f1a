"""The domain: media, their statuses and rules. Imports nothing of ours and nothing external."""

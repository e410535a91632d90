"""The hourly market: bids and their rules, slots, clearing, the seal/clear/deliver/settle jobs, views, stores."""

"""The HTTP side: the SNS webhook, the JSON API, and the app that serves them."""

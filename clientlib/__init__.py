"""A thin client for OpenAI-style video-generation gateways, checked against videomock's contracts."""

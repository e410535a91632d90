"""The local stack: MiniStack on loopback, the SAM application deployed to it, and a proxy on :3000."""

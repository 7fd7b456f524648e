"""Audio/video calls: lifecycle, signaling over the events socket, STUN and TURN."""

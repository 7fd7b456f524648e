"""Real-time collaboration: the y-websocket protocol, rooms, and their persistence.

``protocol`` decodes and encodes frames, ``room`` holds one document with its peers and
awareness (no I/O), ``rooms`` loads, saves and unloads rooms, ``store`` is the storage contract.
"""

from collabcode.collab.protocol import CloseCode, ProtocolError
from collabcode.collab.room import CorruptDocumentError, Peer, Room, RoomLimits
from collabcode.collab.rooms import PersistenceError, RoomManager
from collabcode.collab.store import DocumentStore, MemoryDocumentStore

__all__ = [
    "CloseCode",
    "CorruptDocumentError",
    "DocumentStore",
    "MemoryDocumentStore",
    "Peer",
    "PersistenceError",
    "ProtocolError",
    "Room",
    "RoomLimits",
    "RoomManager",
]

"""The depth tee: a compiled callback layer for depth records under the pinned vn.py md
wrappers (see ``depth_tee.cpp``, ``tee.py``)."""

# cython: language_level=3, boundscheck=False, wraparound=False
"""The depth tee's compiled record handler for vnpy_sopt's records (see _depth_handler.pxi)."""

cdef extern from *:
    """
    #define DEPTH_TEE_SOPT 1
    """
    const int DEPTH_TEE_SOPT

include "_depth_handler.pxi"

# The journal's hand-off, for the compiled hub core to push to with a C call
# (aggregation/_hub_core.pyx cimports it).
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t


cdef struct In:
    PyObject *topic
    PyObject *payload
    int64_t seq
    int64_t exchange_ns


cdef class HandOff:
    cdef In *ring
    cdef Py_ssize_t cap
    cdef Py_ssize_t head
    cdef Py_ssize_t count

    cdef bint push(self, bytes topic, bytes payload, int64_t seq, int64_t exchange_ns) noexcept
    cdef Py_ssize_t take(self, In *out, Py_ssize_t n) noexcept

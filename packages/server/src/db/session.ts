/**
 * Session settings of every connection, the replication one included: values leave PostgreSQL in
 * one text form (UTC, ISO dates, shortest exact floats), whether read by a query or decoded from WAL.
 */
export const SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=1 -c IntervalStyle=iso_8601";

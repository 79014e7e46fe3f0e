//! Tests of the gz layer.

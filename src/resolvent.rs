//! Multi-threaded batch evaluation of the resolvent.

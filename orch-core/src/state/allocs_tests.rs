use crate::state::testutil::*;

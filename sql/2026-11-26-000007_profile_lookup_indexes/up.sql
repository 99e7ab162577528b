-- Profile lookups by ESN, MEID, MDN and MIN (profiles::find) look at every profile with that
-- identity, de-activated ones included (they sort last), so they carry no predicate on
-- activation_state and cannot use the partial unique indexes (which only enforce uniqueness
-- among live profiles): every lookup was a sequential scan of the table. These plain indexes
-- serve the lookups; the partial ones keep enforcing uniqueness.
CREATE INDEX profiles_esn_idx  ON profiles (esn);
CREATE INDEX profiles_meid_idx ON profiles (meid);
CREATE INDEX profiles_mdn_idx  ON profiles (mdn);
CREATE INDEX profiles_min_idx  ON profiles (min);

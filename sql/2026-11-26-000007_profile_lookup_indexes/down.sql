DROP INDEX profiles_min_idx;
DROP INDEX profiles_mdn_idx;
DROP INDEX profiles_meid_idx;
DROP INDEX profiles_esn_idx;

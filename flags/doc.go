// Package flags holds Quarry's feature flags: a fixed set of known flags
// ([Definitions]), overrides stored in the feature_flags table at global
// or tenant scope, and a cached evaluator ([Service.Enabled]) that the
// server asks before it runs an optional feature (a disabled feature
// answers 403 feature_disabled there).
//
// # Known flags and defaults
//
//	ai.assist            default on   POST /ai-assist
//	batch.async.enabled  default off  batch extraction answers 202 with a queued job
//	media.video_to_text  default on   POST /video-to-text
//
// Features that exist default on where that is harmless: the AI assist and
// video endpoints already answer dependency_unavailable when their engine
// is not configured, so their flag is only the operator's off switch.
// Asynchronous batches change what clients get back (202 and a job instead
// of 200 and results), so they are opt-in.
//
// # Precedence
//
// For a tenant, a flag is its tenant override when one is stored, else the
// global override, else the definition's default. Another tenant's
// override never changes the value. [Service.States] reports, for every
// known flag, the effective value and where it comes from (State.Source
// "default", "global" or "tenant"), with both overrides for admin screens;
// [Service.Overrides] lists every stored row.
//
// # Caching
//
// Enabled caches each (tenant, key) value for Config.TTL (5 seconds by
// default) so that checking a flag on every request costs a map lookup.
// [Service.Set] and [Service.Clear] empty this process's cache, so their
// changes are seen at once here; other processes sharing the database,
// and changes made directly in the database, are seen within the TTL.
// When the database fails and an expired value is cached, Enabled answers
// that value rather than failing the request.
//
// # Auditing
//
// This package does not record audit events: the HTTP layer knows the
// actor and the request id and records "flags.updated" with package audit
// after a successful Set or Clear. Set takes the actor only to store it in
// updated_by.
package flags

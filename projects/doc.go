// Package projects groups sources into named projects, the unit of batch
// extraction.
//
// A [Project] belongs to one tenant and has a name, unique in its tenant
// whatever its case ("Reports" and "REPORTS" are one name: [ErrConflict]),
// and a description. An id is "prj_" and a lower-case ULID. Projects are
// listed newest first with opaque cursors ([Service.List]), like sources.
//
// A project holds sources of its tenant ([Service.AddSources]); a source
// may be in several projects. Membership is a row of project_sources whose
// foreign keys cascade: deleting a project removes its memberships and
// leaves its sources alone, deleting a source removes it from every
// project. [Service.SourceIDs] lists a project's sources in the order they
// were added.
//
// # Tenancy
//
// Every method takes the tenant and scopes every query to it: a project
// of another tenant answers [ErrNotFound] exactly like an unknown id, and
// a source of another tenant answers [ErrSourceNotFound] exactly like an
// unknown source. This package never guesses a tenant: an empty one is
// [ErrNoTenant].
//
// # Errors
//
// Errors wrap this package's sentinels ([ErrNotFound], [ErrConflict],
// [ErrSourceNotFound], [ErrInvalidCursor], [ErrNoTenant]) or are a
// *[ValidationError] naming the field at fault, so that the server maps
// each to its contract code with errors.Is and errors.As.
//
// # Auditing
//
// Like package flags, this package records no audit events: the HTTP
// layer knows the actor and the request id, and records project.created,
// project.updated, project.deleted and project.sources_added.
package projects

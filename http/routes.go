package http

import (
	"net/http"

	"github.com/xiaobao-org/xiaobao/auth"
)

// handler serves one route. k is the caller's API key (nil on public
// routes): passing it as an argument rather than in the request context
// saves the context and request copies on the hot path.
type handler func(w http.ResponseWriter, r *http.Request, k *auth.Key)

// route is one entry of the route table.
type route struct {
	Method string
	Path   string // a ServeMux path pattern, also the OpenAPI path
	// Scope is the API key scope the route needs; "" means no
	// authentication.
	Scope string
	// Shed marks the event routes: they count against MaxInflight and are
	// answered 429 beyond it.
	Shed   bool
	handle handler
}

// routes is the whole API surface, in one table so that the OpenAPI test
// can check the document against it.
func (s *server) routes() []route {
	return []route{
		// Operations.
		{Method: "GET", Path: "/healthz", handle: handleHealthz()},
		{Method: "GET", Path: "/readyz", handle: handleReadyz(s)},
		{Method: "GET", Path: "/metrics", handle: handleMetrics(s)},
		{Method: "GET", Path: "/openapi.json", handle: handleOpenAPI()},
		{Method: "GET", Path: "/problems/{code}", handle: handleProblemType(s)},

		// Events and decisions.
		{Method: "POST", Path: "/v1/events", Scope: auth.ScopeEventsWrite, Shed: true, handle: handlePostEvent(s)},
		{Method: "POST", Path: "/v1/events:batch", Scope: auth.ScopeEventsWrite, Shed: true, handle: handlePostEventBatch(s)},
		{Method: "GET", Path: "/v1/decisions", Scope: auth.ScopeDecisionsRead, handle: handleFindDecisions(s)},
		{Method: "GET", Path: "/v1/decisions/{id}", Scope: auth.ScopeDecisionsRead, handle: handleGetDecision(s)},
		{Method: "POST", Path: "/v1/decisions/{id}/unmask", Scope: auth.ScopePIIUnmask, handle: handleUnmask(s)},
		{Method: "GET", Path: "/v1/graph/neighbourhood", Scope: auth.ScopeGraphRead, handle: handleNeighbourhood(s)},
		{Method: "POST", Path: "/v1/privacy/redact", Scope: auth.ScopePrivacyRedact, handle: handleRedact(s)},
		{Method: "POST", Path: "/v1/decisions/{id}/outcome", Scope: auth.ScopeOutcomesWrite, handle: handlePostOutcome(s)},
		{Method: "GET", Path: "/v1/decisions/{id}/outcome", Scope: auth.ScopeDecisionsRead, handle: handleGetOutcome(s)},

		// Rule packs.
		{Method: "GET", Path: "/v1/rulepacks", Scope: auth.ScopeRulesRead, handle: handleListPacks(s)},
		{Method: "POST", Path: "/v1/rulepacks", Scope: auth.ScopeRulesAdmin, handle: handlePostPack(s)},
		{Method: "POST", Path: "/v1/rulepacks:validate", Scope: auth.ScopeRulesRead, handle: handleValidatePack(s)},
		{Method: "GET", Path: "/v1/rulepacks/{name}/versions", Scope: auth.ScopeRulesRead, handle: handlePackVersions(s)},
		{Method: "GET", Path: "/v1/rulepacks/{name}/versions/{version}", Scope: auth.ScopeRulesRead, handle: handlePackVersion(s)},
		{Method: "POST", Path: "/v1/rulepacks/{name}/versions/{version}/activate", Scope: auth.ScopeRulesAdmin, handle: handleActivatePack(s)},
		{Method: "POST", Path: "/v1/rulepacks/{name}/deactivate", Scope: auth.ScopeRulesAdmin, handle: handleDeactivatePack(s)},
		{Method: "GET", Path: "/v1/features", Scope: auth.ScopeRulesRead, handle: handleFeatures()},
		{Method: "GET", Path: "/v1/model", Scope: auth.ScopeRulesRead, handle: handleGetModel(s)},
		{Method: "PUT", Path: "/v1/model", Scope: auth.ScopeRulesAdmin, handle: handlePutModel(s)},
		{Method: "DELETE", Path: "/v1/model", Scope: auth.ScopeRulesAdmin, handle: handleDeleteModel(s)},

		// Block and allow lists.
		{Method: "GET", Path: "/v1/lists", Scope: auth.ScopeListsRead, handle: handleListEntries(s)},
		{Method: "PUT", Path: "/v1/lists/{list}/{kind}/{value}", Scope: auth.ScopeListsAdmin, handle: handlePutListEntry(s)},
		{Method: "DELETE", Path: "/v1/lists/{list}/{kind}/{value}", Scope: auth.ScopeListsAdmin, handle: handleDeleteListEntry(s)},
		{Method: "POST", Path: "/v1/lists:import", Scope: auth.ScopeListsAdmin, handle: handleImportList(s)},

		// API keys.
		{Method: "POST", Path: "/v1/keys", Scope: auth.ScopeKeysAdmin, handle: handleCreateKey(s)},
		{Method: "GET", Path: "/v1/keys", Scope: auth.ScopeKeysAdmin, handle: handleListKeys(s)},
		{Method: "DELETE", Path: "/v1/keys/{id}", Scope: auth.ScopeKeysAdmin, handle: handleRevokeKey(s)},
		{Method: "GET", Path: "/v1/vault/keys", Scope: auth.ScopeKeysAdmin, handle: handleVaultKeys(s)},
		{Method: "POST", Path: "/v1/vault/rotate", Scope: auth.ScopeKeysAdmin, handle: handleVaultRotate(s)},

		// Staff.
		{Method: "POST", Path: "/v1/staff/login", handle: handleLogin(s)},
		{Method: "POST", Path: "/v1/staff/logout", handle: handleLogout(s)},
		{Method: "GET", Path: "/v1/staff/me", handle: handleMe(s)},
		{Method: "GET", Path: "/v1/staff/users", Scope: auth.ScopeStaffAdmin, handle: handleListUsers(s)},
		{Method: "POST", Path: "/v1/staff/users", Scope: auth.ScopeStaffAdmin, handle: handleCreateUser(s)},
		{Method: "PATCH", Path: "/v1/staff/users/{username}", Scope: auth.ScopeStaffAdmin, handle: handleUpdateUser(s)},

		// Consents and data-subject requests (PIPL).
		{Method: "PUT", Path: "/v1/customers/{id}/consents/{purpose}", Scope: auth.ScopeConsentsWrite, handle: handlePutConsent(s)},
		{Method: "GET", Path: "/v1/customers/{id}/consents", Scope: auth.ScopePrivacyRead, handle: handleGetConsents(s)},
		{Method: "GET", Path: "/v1/customers/{id}/export", Scope: auth.ScopePrivacyAdmin, handle: handleExportCustomer(s)},
		{Method: "POST", Path: "/v1/subject-requests", Scope: auth.ScopePrivacyAdmin, handle: handleCreateSubjectRequest(s)},
		{Method: "GET", Path: "/v1/subject-requests", Scope: auth.ScopePrivacyRead, handle: handleListSubjectRequests(s)},
		{Method: "GET", Path: "/v1/subject-requests/{id}", Scope: auth.ScopePrivacyRead, handle: handleGetSubjectRequest(s)},
		{Method: "POST", Path: "/v1/subject-requests/{id}/transition", Scope: auth.ScopePrivacyAdmin, handle: handleTransitionSubjectRequest(s)},
	}
}

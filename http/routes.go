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

		// The console: staff's web interface, served from embedded files.
		{Method: "GET", Path: "/{$}", handle: handleConsoleIndex(s)},
		{Method: "GET", Path: "/console/{file...}", handle: handleConsoleAsset(s)},
		{Method: "GET", Path: "/v1/report/summary", Scope: auth.ScopeReportRead, handle: handleReportSummary(s)},

		// Events and decisions.
		{Method: "POST", Path: "/v1/events", Scope: auth.ScopeEventsWrite, Shed: true, handle: handlePostEvent(s)},
		{Method: "POST", Path: "/v1/events:batch", Scope: auth.ScopeEventsWrite, Shed: true, handle: handlePostEventBatch(s)},
		{Method: "GET", Path: "/v1/decisions", Scope: auth.ScopeDecisionsRead, handle: handleFindDecisions(s)},
		{Method: "GET", Path: "/v1/decisions/{id}", Scope: auth.ScopeDecisionsRead, handle: handleGetDecision(s)},
		{Method: "POST", Path: "/v1/decisions/{id}/unmask", Scope: auth.ScopePIIUnmask, handle: handleUnmask(s)},
		{Method: "GET", Path: "/v1/graph/neighbourhood", Scope: auth.ScopeGraphRead, handle: handleNeighbourhood(s)},
		{Method: "POST", Path: "/v1/graph/score", Scope: auth.ScopeGraphRead, handle: handleScore(s)},
		{Method: "POST", Path: "/v1/graph/rings", Scope: auth.ScopeGraphRead, handle: handleRings(s)},
		{Method: "POST", Path: "/v1/graph/mine", Scope: auth.ScopeGraphRead, handle: handleMine(s)},
		{Method: "POST", Path: "/v1/privacy/redact", Scope: auth.ScopePrivacyRedact, handle: handleRedact(s)},
		{Method: "POST", Path: "/v1/decisions/{id}/outcome", Scope: auth.ScopeOutcomesWrite, handle: handlePostOutcome(s)},
		{Method: "GET", Path: "/v1/decisions/{id}/outcome", Scope: auth.ScopeDecisionsRead, handle: handleGetOutcome(s)},

		// Dissuasion cases.
		{Method: "GET", Path: "/v1/cases", Scope: auth.ScopeCasesRead, handle: handleListCases(s)},
		{Method: "GET", Path: "/v1/cases/mine", Scope: auth.ScopeCasesWork, handle: handleMyCases(s)},
		{Method: "GET", Path: "/v1/cases/queues", Scope: auth.ScopeCasesRead, handle: handleCaseQueues(s)},
		{Method: "GET", Path: "/v1/cases/figures", Scope: auth.ScopeCasesRead, handle: handleCaseFigures(s)},
		{Method: "GET", Path: "/v1/cases/agents", Scope: auth.ScopeCasesRead, handle: handleListAgents(s)},
		{Method: "PUT", Path: "/v1/cases/agents/{username}", Scope: auth.ScopeCasesSupervise, handle: handlePutAgent(s)},
		{Method: "POST", Path: "/v1/cases/next", Scope: auth.ScopeCasesWork, handle: handleNextCase(s)},
		{Method: "POST", Path: "/v1/cases:auto-assign", Scope: auth.ScopeCasesSupervise, handle: handleAutoAssign(s)},
		{Method: "GET", Path: "/v1/cases/{id}", Scope: auth.ScopeCasesRead, handle: handleGetCase(s)},
		{Method: "POST", Path: "/v1/cases/{id}/assign", Scope: auth.ScopeCasesWork, handle: handleAssignCase(s)},
		{Method: "POST", Path: "/v1/cases/{id}/notes", Scope: auth.ScopeCasesWork, handle: handleCaseNote(s)},
		{Method: "POST", Path: "/v1/cases/{id}/calls", Scope: auth.ScopeCasesWork, handle: handleCaseCall(s)},

		// Rule packs.
		{Method: "GET", Path: "/v1/rulepacks", Scope: auth.ScopeRulesRead, handle: handleListPacks(s)},
		{Method: "POST", Path: "/v1/rulepacks", Scope: auth.ScopeRulesAdmin, handle: handlePostPack(s)},
		{Method: "POST", Path: "/v1/rulepacks:validate", Scope: auth.ScopeRulesRead, handle: handleValidatePack(s)},
		{Method: "POST", Path: "/v1/rulepacks:backtest", Scope: auth.ScopeRulesRead, handle: handleBacktestPack(s)},
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

		// The FAQ knowledge base (the Answer ability).
		{Method: "POST", Path: "/v1/service/faqs:import", Scope: auth.ScopeServiceAdmin, handle: handleImportFAQs(s)},
		{Method: "POST", Path: "/v1/service/faqs:search", Scope: auth.ScopeServiceRead, handle: handleSearchFAQs(s)},
		{Method: "GET", Path: "/v1/service/faqs", Scope: auth.ScopeServiceRead, handle: handleListFAQs(s)},
		{Method: "GET", Path: "/v1/service/faqs/{id}", Scope: auth.ScopeServiceRead, handle: handleGetFAQ(s)},
		{Method: "PUT", Path: "/v1/service/faqs/{id}", Scope: auth.ScopeServiceAdmin, handle: handlePutFAQ(s)},
		{Method: "DELETE", Path: "/v1/service/faqs/{id}", Scope: auth.ScopeServiceAdmin, handle: handleDeleteFAQ(s)},
		{Method: "GET", Path: "/v1/service/faqs/{id}/history", Scope: auth.ScopeServiceRead, handle: handleFAQHistory(s)},
		{Method: "GET", Path: "/v1/service/synonyms", Scope: auth.ScopeServiceRead, handle: handleGetSynonyms(s)},
		{Method: "PUT", Path: "/v1/service/synonyms", Scope: auth.ScopeServiceAdmin, handle: handlePutSynonyms(s)},
		{Method: "GET", Path: "/v1/service/synonyms/history", Scope: auth.ScopeServiceRead, handle: handleSynonymHistory(s)},
		{Method: "POST", Path: "/v1/service/faq-examples:import", Scope: auth.ScopeServiceAdmin, handle: handleImportExamples(s)},
		{Method: "GET", Path: "/v1/service/faq-examples", Scope: auth.ScopeServiceRead, handle: handleListExamples(s)},
		{Method: "GET", Path: "/v1/service/faq-examples/{id}", Scope: auth.ScopeServiceRead, handle: handleGetExample(s)},
		{Method: "POST", Path: "/v1/service/faq-examples/{id}/accept", Scope: auth.ScopeServiceAdmin, handle: handleAcceptExample(s)},
		{Method: "DELETE", Path: "/v1/service/faq-examples/{id}", Scope: auth.ScopeServiceAdmin, handle: handleDeleteExample(s)},

		// Customer service: ask, sessions, routing, guides, statistics.
		{Method: "POST", Path: "/v1/service/ask", Scope: auth.ScopeServiceAsk, handle: handleServiceAsk(s)},
		{Method: "POST", Path: "/v1/service/sessions", Scope: auth.ScopeServiceAsk, handle: handleServiceOpenSession(s)},
		{Method: "GET", Path: "/v1/service/sessions", Scope: auth.ScopeServiceRead, handle: handleServiceFindSessions(s)},
		{Method: "GET", Path: "/v1/service/sessions/{id}", Scope: auth.ScopeServiceRead, handle: handleServiceGetSession(s)},
		{Method: "POST", Path: "/v1/service/sessions/{id}/handoff", Scope: auth.ScopeServiceAsk, handle: handleServiceHandoff(s)},
		{Method: "POST", Path: "/v1/service/sessions/{id}/turns", Scope: auth.ScopeServiceAsk, handle: handleServiceAddTurn(s)},
		{Method: "POST", Path: "/v1/service/sessions/{id}/csat", Scope: auth.ScopeServiceAsk, handle: handleServiceRate(s)},
		{Method: "POST", Path: "/v1/service/sessions/{id}/feedback", Scope: auth.ScopeServiceAsk, handle: handleServiceFeedback(s)},
		{Method: "POST", Path: "/v1/service/sessions/{id}/close", Scope: auth.ScopeServiceAsk, handle: handleServiceCloseSession(s)},
		{Method: "GET", Path: "/v1/service/agents", Scope: auth.ScopeServiceRead, handle: handleServiceListAgents(s)},
		{Method: "PUT", Path: "/v1/service/agents/{id}", Scope: auth.ScopeServiceAdmin, handle: handleServicePutAgent(s)},
		{Method: "GET", Path: "/v1/service/queues", Scope: auth.ScopeServiceRead, handle: handleServiceListQueues(s)},
		{Method: "PUT", Path: "/v1/service/queues/{name}", Scope: auth.ScopeServiceAdmin, handle: handleServicePutQueue(s)},
		{Method: "GET", Path: "/v1/service/guides", Scope: auth.ScopeServiceRead, handle: handleServiceListGuides(s)},
		{Method: "GET", Path: "/v1/service/guides/{id}", Scope: auth.ScopeServiceRead, handle: handleServiceGetGuide(s)},
		{Method: "PUT", Path: "/v1/service/guides/{id}", Scope: auth.ScopeServiceAdmin, handle: handleServicePutGuide(s)},
		{Method: "DELETE", Path: "/v1/service/guides/{id}", Scope: auth.ScopeServiceAdmin, handle: handleServiceDeleteGuide(s)},
		{Method: "GET", Path: "/v1/service/guides/{id}/versions", Scope: auth.ScopeServiceRead, handle: handleServiceGuideVersions(s)},
		{Method: "GET", Path: "/v1/service/stats", Scope: auth.ScopeServiceRead, handle: handleServiceStats(s)},
		{Method: "POST", Path: "/v1/subject-requests/{id}/erasure", Scope: auth.ScopePrivacyAdmin, handle: handleEraseSubjectRequest(s)},
		{Method: "GET", Path: "/v1/customers/{id}/restricted-decisions", Scope: auth.ScopePrivacyAdmin, handle: handleRestrictedRecords(s)},

		// The outbox: payment callbacks and customer notifications.
		{Method: "GET", Path: "/v1/outbox", Scope: auth.ScopeOutboxAdmin, handle: handleListOutbox(s)},
		{Method: "POST", Path: "/v1/outbox/{id}/redrive", Scope: auth.ScopeOutboxAdmin, handle: handleRedriveOutbox(s)},
	}
}

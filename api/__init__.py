"""The exchange interface (信息资源交换): LandDesk's export results, catalogue and health over a read-only JSON
API (`landdesk api`), for the bureau's other systems. It sits beside the dashboard and the command line: every
result goes through service.results.read with the token's Principal (one scope, access and audit rule for all)."""

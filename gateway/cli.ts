#!/usr/bin/env node
import { Command } from 'commander'
import { registerAuditCommands } from './cli/audit.js'
import { registerProveReleaseCommand } from './cli/audit-prove-release.js'
import { registerCatalogCommands } from './cli/catalog.js'
import { registerConnectorCommands } from './cli/connector-new.js'
import { registerDemoCommand } from './cli/demo.js'
import { registerDepartmentCommands } from './cli/department.js'
import { registerOpenApiCommand } from './cli/openapi.js'
import { registerServeCommand } from './cli/serve.js'
import { registerSharingCommands } from './cli/sharing.js'
import { registerSimulateCommand } from './cli/simulate.js'
import { registerTokenCommand } from './cli/token.js'

/** `qiao` command line: serve, demo, catalog check, token, simulate; the sharing workflow (apply, review, grants…). */
const program = new Command()
  .name('qiao')
  .description('Qiao (桥): data-sharing exchange gateway between government departments')
  .showHelpAfterError()

registerServeCommand(program)
registerDemoCommand(program)
registerCatalogCommands(program)
registerAuditCommands(program)
registerProveReleaseCommand(program)
registerDepartmentCommands(program)
registerConnectorCommands(program)
registerTokenCommand(program)
registerOpenApiCommand(program)
registerSharingCommands(program)
registerSimulateCommand(program)

await program.parseAsync(process.argv)

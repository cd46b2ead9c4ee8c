import './base.css';
import './soql.css';
